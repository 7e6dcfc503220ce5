import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { MemoriaNovaError } from '../errors.ts';
import { readModelBytes } from './read.ts';
import { encodeModel, FLOAT, tensorValueInfo } from './testing.ts';
import { writeModelFile } from './write.ts';

const dir = mkdtempSync(join(tmpdir(), 'memorianova-functions-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const alphaRef = { name: 'alpha', type: 1, ref_attr_name: 'alpha' };
/** local.ScaledSwish(X) = LeakyRelu(X · Sigmoid(X), alpha), alpha defaulting to 0.1. */
const scaledSwish = {
  name: 'ScaledSwish',
  domain: 'local',
  input: ['X'],
  output: ['Y'],
  attribute_proto: [{ name: 'alpha', type: 1, f: 0.1 }],
  opset_import: [{ domain: '', version: 17 }],
  node: [
    { name: 'sig', op_type: 'Sigmoid', input: ['X'], output: ['s'] },
    { op_type: 'Mul', input: ['X', 's'], output: ['m'] },
    { name: 'leaky', op_type: 'LeakyRelu', input: ['m'], output: ['Y'], attribute: [alphaRef] },
  ],
};
/** local.Twice(X) = ScaledSwish(ScaledSwish(X, alpha), default alpha): a function calling a function. */
const twice = {
  name: 'Twice',
  domain: 'local',
  input: ['X'],
  output: ['Y'],
  attribute: ['alpha'],
  opset_import: [
    { domain: '', version: 17 },
    { domain: 'local', version: 1 },
  ],
  node: [
    { name: 'first', op_type: 'ScaledSwish', domain: 'local', input: ['X'], output: ['a'], attribute: [alphaRef] },
    { name: 'second', op_type: 'ScaledSwish', domain: 'local', input: ['a'], output: ['Y'] },
  ],
};
const model = {
  ir_version: 8,
  opset_import: [
    { domain: '', version: 17 },
    { domain: 'local', version: 1 },
  ],
  functions: [scaledSwish, twice],
  graph: {
    name: 'calls',
    node: [
      { name: 'call', op_type: 'Twice', domain: 'local', input: ['x'], output: ['y'], attribute: [{ name: 'alpha', type: 1, f: 0.5 }] },
      { op_type: 'ScaledSwish', domain: 'local', input: ['x'], output: ['z'] },
    ],
    input: [tensorValueInfo('x', FLOAT, [2, 3])],
    output: [tensorValueInfo('y', FLOAT, [2, 3]), tensorValueInfo('z', FLOAT, [2, 3])],
  },
};

describe('model-local functions', () => {
  it('are expanded into their bodies: renamed tensors and nodes, attributes from the call or the default', () => {
    const graph = readModelBytes(encodeModel(model), dir);
    assert.deepEqual(
      graph.nodes.map((n) => [n.name, n.opType, n.inputs.join(','), n.outputs.join(',')]),
      [
        ['call/first/sig', 'Sigmoid', 'x', 'call/first/s'],
        ['call/first/Mul_1', 'Mul', 'x,call/first/s', 'call/first/m'],
        ['call/first/leaky', 'LeakyRelu', 'call/first/m', 'call/a'],
        ['call/second/sig', 'Sigmoid', 'call/a', 'call/second/s'],
        ['call/second/Mul_1', 'Mul', 'call/a,call/second/s', 'call/second/m'],
        ['call/second/leaky', 'LeakyRelu', 'call/second/m', 'y'],
        ['ScaledSwish_1/sig', 'Sigmoid', 'x', 'ScaledSwish_1/s'],
        ['ScaledSwish_1/Mul_1', 'Mul', 'x,ScaledSwish_1/s', 'ScaledSwish_1/m'],
        ['ScaledSwish_1/leaky', 'LeakyRelu', 'ScaledSwish_1/m', 'z'],
      ],
    );
    const alphas = graph.nodes.filter((n) => n.opType === 'LeakyRelu').map((n) => n.attributes.alpha);
    assert.deepEqual(alphas, [
      { type: 'float', value: 0.5 },
      { type: 'float', value: Math.fround(0.1) },
      { type: 'float', value: Math.fround(0.1) },
    ]);
  });

  it('computes what onnxruntime computes from the functions themselves', async () => {
    const original = join(dir, 'functions.onnx');
    writeFileSync(original, encodeModel(model));
    const inlined = join(dir, 'inlined.onnx');
    writeModelFile(readModelBytes(encodeModel(model), dir), inlined);
    const x = new ort.Tensor('float32', Float32Array.from([-3, -1, -0.5, 0, 1, 4]), [2, 3]);
    const run = async (path: string) => {
      const out = await (await ort.InferenceSession.create(path)).run({ x });
      return [[...(out.y!.data as Float32Array)], [...(out.z!.data as Float32Array)]];
    };
    assert.deepEqual(await run(inlined), await run(original));
  });

  it('refuses recursion', () => {
    const loop = { ...scaledSwish, node: [{ op_type: 'ScaledSwish', domain: 'local', input: ['X'], output: ['Y'] }] };
    assert.throws(
      () => readModelBytes(encodeModel({ ...model, functions: [loop, twice] }), dir),
      (e: unknown) => e instanceof MemoriaNovaError && /calls itself/.test(e.message),
    );
  });
});
