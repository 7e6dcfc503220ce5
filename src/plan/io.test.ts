import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { analyzeGraph } from '../analysis/analyze.ts';
import { presetCluster } from '../cluster/presets.ts';
import { GraphBuilder } from '../ir/builder.ts';
import type { Model } from '../ir/graph.ts';
import { fastestDevice, proportionalPlan, singleDevicePlan } from './build.ts';
import { modelFingerprint } from '../model/fingerprint.ts';
import { readPlan, writePlan } from './io.ts';
import type { Plan } from './types.ts';

function model(channels = 4): Model {
  const b = new GraphBuilder('tiny');
  const x = b.input('x', 'float32', [1, 3, 8, 8]);
  const y = b.op('Conv', [x, b.weight('w', [channels, 3, 3, 3])], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, 'conv');
  b.output(b.op('Relu', [y], {}, 'relu'));
  return analyzeGraph(b.build());
}

const dir = mkdtempSync(join(tmpdir(), 'mn-plan-'));
const cluster = presetCluster('hetero4')!;
const order = ['conv', 'relu'];

function errorOf(edit: (plan: Plan) => unknown, m = model()): string {
  const path = join(dir, 'bad.json');
  writeFileSync(path, JSON.stringify(edit(structuredClone(proportionalPlan(model(), cluster, order)))));
  try {
    readPlan(path, m);
  } catch (error) {
    assert.ok(!(error as Error).message.includes('\n'));
    return (error as Error).message;
  }
  assert.fail('expected an error');
}

test('a written plan reads back identical, one decision per line', () => {
  const plan = proportionalPlan(model(), cluster, order);
  const path = join(dir, 'plan.json');
  writePlan(path, plan);
  assert.deepEqual(readPlan(path, model()), plan);
  const text = readFileSync(path, 'utf8');
  assert.match(text, /"format": "memorianova-plan",\n {2}"version": 1,/);
  const ratios = cluster.devices.map((d) => d.gflops).join(',');
  assert.ok(text.includes(`\n    {"op":"relu","placement":{"dim":"rows","ratios":[${ratios}]},"sync":true}\n`), 'one decision per line');
});

test('constructors: single puts everything on the fastest device; proportional splits by GFLOP/s', () => {
  assert.equal(fastestDevice(cluster), 3);
  assert.deepEqual(
    singleDevicePlan(model(), cluster, order).ops.map((o) => o.placement),
    [{ device: 3 }, { device: 3 }],
  );
  assert.equal(singleDevicePlan(model(), cluster, order).method, 'single');
  assert.deepEqual(proportionalPlan(model(), cluster, order, ['channels']).ops[0]!.placement, {
    dim: 'channels',
    ratios: cluster.devices.map((d) => d.gflops),
  });
});

test('the fingerprint follows structure and shapes, not weight values', () => {
  assert.equal(modelFingerprint(model()), modelFingerprint(model()));
  assert.notEqual(modelFingerprint(model(4)), modelFingerprint(model(5)));
  assert.match(modelFingerprint(model()), /^[0-9a-f]{16}$/);
});

test('plans that do not match the model: one-line errors', () => {
  const path = join(dir, 'bad.json');
  assert.match(
    errorOf((p) => p, model(5)),
    /^plan file .*bad\.json was made for model 'tiny' \(fingerprint [0-9a-f]{16}\), not for 'tiny' \(fingerprint [0-9a-f]{16}\)$/,
  );
  assert.match(
    errorOf(({ model: { options: _options, ...head }, ...p }) => ({ ...p, model: head }), model(5)),
    /\(fingerprint [0-9a-f]{16}\); the plan records no model options: give the --batch, --seq-len, --layers, --dim or --input it was made with$/,
  );
  assert.equal(
    errorOf((p) => ({ ...p, order: ['conv', 'gelu'] })),
    `plan file ${path}: operator order names 'gelu', which is not an operator of model 'tiny'`,
  );
  assert.equal(
    errorOf((p) => ({ ...p, order: ['relu', 'conv'] })),
    `plan file ${path}: operator order runs 'relu' before 'conv', which produces its input 'conv_out'`,
  );
  assert.equal(
    errorOf((p) => ({ ...p, ops: [p.ops[0], { ...p.ops[1], op: 'gelu' }] })),
    `plan file ${path}: plan decision 1 is for 'gelu', but operator 1 of the order is 'relu'`,
  );
  assert.equal(
    errorOf((p) => ({ ...p, ops: [{ ...p.ops[0], placement: { dim: 'rows', ratios: [1, 1] } }, p.ops[1]] })),
    `plan file ${path}: operator 'conv' (Conv): 2 split ratios for 4 devices`,
  );
  assert.equal(
    errorOf((p) => ({ ...p, ops: [{ ...p.ops[0], placement: { dim: 'rows', ratios: [1, -1, 1, 1] } }, p.ops[1]] })),
    `plan file ${path}: operator 'conv' (Conv): split ratios must be finite and >= 0, got [1, -1, 1, 1]`,
  );
  assert.equal(
    errorOf((p) => ({ ...p, ops: [{ ...p.ops[0], placement: { dim: 'tokens', ratios: [1, 1, 1, 1] } }, p.ops[1]] })),
    `plan file ${path}: operator 'conv' (Conv) cannot be split by tokens; it can be split by channels, rows`,
  );
  assert.equal(
    errorOf((p) => ({ ...p, ops: [{ ...p.ops[0], placement: { device: 4 } }, p.ops[1]] })),
    `plan file ${path}: operator 'conv' (Conv): device 4 does not exist (the cluster has devices 0..3)`,
  );
  assert.equal(
    errorOf((p) => ({ ...p, ops: [{ ...p.ops[0], placement: { device: 0 }, sync: false }, p.ops[1]] })),
    `plan file ${path}: operator 'conv' (Conv) cannot skip synchronisation: its consumer 'relu' is placed differently`,
  );
  assert.equal(
    errorOf((p) => ({ ...p, ops: [p.ops[0], { ...p.ops[1], sync: false }] })),
    `plan file ${path}: operator 'relu' (Relu) cannot skip synchronisation: it produces a graph output`,
  );
  assert.equal(
    errorOf((p) => ({ ...p, version: 2 })),
    `plan file ${path}: version: must be 1 (this build reads plan version 1)`,
  );
  assert.equal(
    errorOf((p) => ({ ...p, cluster: { ...p.cluster, devices: [] } })),
    `plan file ${path}: cluster: devices: must list at least one device`,
  );
  assert.equal(
    errorOf((p) => ({ ...p, extra: true })),
    `plan file ${path}: unknown field 'extra'`,
  );
  writeFileSync(path, '{ not json');
  assert.throws(() => readPlan(path, model()), /^MemoriaNovaError: plan file .*bad\.json: cannot be read as JSON \(/);
});
