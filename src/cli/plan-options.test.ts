import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadCluster } from '../cluster/load.ts';
import { GraphBuilder } from '../ir/builder.ts';
import { loadModel } from '../model/load.ts';
import { writeModelBytes } from '../onnx/write.ts';
import { planOrder } from '../ordering/plan.ts';
import { singleDevicePlan } from '../plan/build.ts';
import { writePlan } from '../plan/io.ts';
import { cli, scratchDir } from './testing.ts';

const dir = scratchDir('memorianova-plan-options-');

/** A plan of gpt2 cut to 2 layers of 32 tokens, written the way `plan --layers 2 --seq-len 32` writes it. */
function gpt2Plan(): string {
  const model = loadModel('gpt2', { layers: 2, seqLen: 32 });
  const path = join(dir, 'gpt2.json');
  writePlan(path, singleDevicePlan(model, loadCluster('homo2'), planOrder(model, { timeLimitMs: 2000 }).orderNames));
  return path;
}

/** A convolution whose batch dimension is symbolic: a file model bound with --dim. */
function symbolicFile(): string {
  const b = new GraphBuilder('symconv');
  const x = b.input('x', 'float32', ['batch', 3, 8, 8]);
  b.output(b.op('Relu', [b.op('Conv', [x, b.weight('w', [4, 3, 3, 3])], { pads: [1, 1, 1, 1] }, 'conv')], {}, 'relu'));
  const path = join(dir, 'symconv.onnx');
  writeFileSync(path, writeModelBytes(b.build()));
  return path;
}

describe('a plan file records the model options', () => {
  const plan = gpt2Plan();

  it('the plan file holds them; simulate and deploy take them from it without the flags', () => {
    assert.deepEqual(JSON.parse(readFileSync(plan, 'utf8')).model.options, { seqLen: 32, layers: 2 });
    const run = cli('simulate', 'gpt2', '--plan', plan, '--json');
    assert.equal(run.status, 0, run.stderr);
    assert.equal(JSON.parse(run.stdout).model, 'gpt2');
    const same = cli('simulate', 'gpt2', '--plan', plan, '--seq-len', '32', '--json');
    assert.equal(same.status, 0, `repeating a recorded value is fine: ${same.stderr}`);
  });

  it('a contradicting flag is a one-line usage error naming it and the recorded value', () => {
    for (const [command, args, message] of [
      ['simulate', ['--seq-len', '64'], '--seq-len 64 contradicts plan file PLAN, made with --seq-len 32'],
      ['simulate', ['--batch', '2'], '--batch 2 contradicts plan file PLAN, made without it'],
      ['deploy', ['--layers', '3', '-o', join(dir, 'bundle')], '--layers 3 contradicts plan file PLAN, made with --layers 2'],
    ] as const) {
      const run = cli(command, 'gpt2', '--plan', plan, ...args);
      assert.equal(run.status, 1, run.stderr);
      assert.equal(run.stderr, `error: ${message.replace('PLAN', plan)}; leave it out and the plan's options are used\n`);
    }
  });

  it("another built-in model than the plan's is refused by name, before the plan's options are applied to it", () => {
    const run = cli('deploy', 'squeezenet1.0', '--plan', plan, '-o', join(dir, 'bundle'));
    assert.equal(run.stderr, `error: plan file ${plan} was made for model 'gpt2', not for 'squeezenet1.0'\n`);
  });

  it('a file model: --dim is recorded and taken back; another value is an error', () => {
    const file = symbolicFile();
    const model = loadModel(file, { bindings: { dims: { batch: 2 } } });
    assert.deepEqual(model.options, { dims: { batch: 2 } });
    const path = join(dir, 'symconv.json');
    writePlan(path, singleDevicePlan(model, loadCluster('homo2'), planOrder(model).orderNames));
    const run = cli('simulate', file, '--plan', path, '--json');
    assert.equal(run.status, 0, run.stderr);
    const other = cli('simulate', file, '--plan', path, '--dim', 'batch=4');
    assert.equal(
      other.stderr,
      `error: --dim batch=4 contradicts plan file ${path}, made with --dim batch=2; leave it out and the plan's options are used\n`,
    );
  });

  it('built-in-only options on a model file are a usage error naming them', () => {
    const file = symbolicFile();
    const run = cli('inspect', file, '--dim', 'batch=1', '--seq-len', '32', '--layers', '2');
    assert.equal(run.status, 1, run.stderr);
    assert.equal(
      run.stderr,
      "error: --seq-len, --layers are for built-in models; a model file's shapes are bound with --dim name=value or --input name:AxB\n",
    );
  });
});
