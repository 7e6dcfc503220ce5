import { after, before } from 'node:test';
import { analyzeGraph } from '../analysis/analyze.ts';
import { GraphBuilder } from '../ir/builder.ts';
import { presetCluster } from '../cluster/presets.ts';
import type { Model } from '../ir/graph.ts';
import { proportionalPlan } from '../plan/build.ts';
import type { Plan } from '../plan/types.ts';
import { executeProgram, type ExecuteOptions, type ExecuteResult } from './coordinator.ts';
import { compileProgram, type RuntimeProgram } from './program.ts';
import { maxAbsError, modelInputs, referenceRun } from './reference.ts';
import { ortTensorBytes } from './tensors.ts';
import { startWorker, type RunningWorker } from './worker.ts';

/**
 * A small zoo-like CNN for runtime tests: strided and padded convolutions with batch norm, a grouped
 * convolution, max and ceil-mode average pooling, a residual add, a channel concat, global pooling, Flatten and
 * Gemm — every region rule the runtime must execute, at a size that runs in milliseconds.
 */
export function smallCnn(size = 20): Model {
  const b = new GraphBuilder('small-cnn', { seed: 7 });
  const x = b.input('image', 'float32', [1, 3, size, size]);
  const c1 = b.op('Conv', [x, b.weight('c1.w', [8, 3, 3, 3]), b.weight('c1.b', [8])], { pads: [1, 1, 1, 1], strides: [2, 2] }, 'conv1');
  const bn = b.op(
    'BatchNormalization',
    [c1, b.weight('bn.s', [8]), b.weight('bn.b', [8]), b.weight('bn.m', [8]), b.fill('bn.v', [8], 1)],
    { epsilon: 1e-5 },
    'bn1',
  );
  const r1 = b.op('Relu', [bn], {}, 'relu1');
  const p1 = b.op('MaxPool', [r1], { kernel_shape: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1] }, 'pool1');
  const c2 = b.op('Conv', [p1, b.weight('c2.w', [8, 2, 3, 3])], { pads: [1, 1, 1, 1], group: 4 }, 'conv2_grouped');
  const add = b.op('Add', [c2, r1], {}, 'residual');
  const c3 = b.op('Conv', [add, b.weight('c3.w', [4, 8, 1, 1])], {}, 'conv3');
  const c4 = b.op('Conv', [add, b.weight('c4.w', [4, 8, 3, 3])], { pads: [2, 2, 2, 2], dilations: [2, 2] }, 'conv4_dilated');
  const cat = b.op('Concat', [c3, c4], { axis: 1 }, 'concat');
  const p2 = b.op('AveragePool', [cat], { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 }, 'avgpool');
  const g = b.op('GlobalAveragePool', [p2], {}, 'gap');
  const f = b.op('Flatten', [g], { axis: 1 }, 'flatten');
  const y = b.op('Gemm', [f, b.weight('fc.w', [10, 8]), b.weight('fc.b', [10])], { transB: 1 }, 'fc');
  b.output(y);
  return analyzeGraph(b.build(), { name: 'small-cnn' });
}

/** The small CNN's rows split proportionally over the two devices of homo2, every operator synchronised. */
export function smallCnnRowPlan(model: Model = smallCnn()): Plan {
  return proportionalPlan(
    model,
    presetCluster('homo2')!,
    model.ops.map((op) => op.node.name),
    ['rows'],
  );
}

/**
 * Loopback workers for the enclosing describe block: `count` started before its tests and every one in the list
 * (tests may push more) closed after them.
 */
export function suiteWorkers(count: number): RunningWorker[] {
  const workers: RunningWorker[] = [];
  before(async () => {
    for (let i = 0; i < count; i++) workers.push(await startWorker({ host: '127.0.0.1', port: 0, name: `w${i}` }));
  });
  after(async () => {
    for (const w of workers) await w.close();
  });
  return workers;
}

/**
 * Runs `plan` (or a program compiled from it) on the first workers, one per device, with the model's sample inputs,
 * one measured run and no warm-up, links not emulated and every device at full speed unless `options` says otherwise;
 * returns the result and its largest difference from one whole-model session.
 */
export async function runAgainstReference(
  model: Model,
  plan: Plan,
  workers: readonly RunningWorker[],
  options: Partial<ExecuteOptions> & { program?: RuntimeProgram } = {},
): Promise<{ maxAbsError: number; result: ExecuteResult }> {
  const { program = compileProgram(model, plan), ...execute } = options;
  const inputs = modelInputs(model);
  const reference = await referenceRun(model, inputs);
  const n = plan.cluster.devices.length;
  const result = await executeProgram(program, plan.cluster, {
    workers: workers.slice(0, n).map((w) => w.address),
    runs: 1,
    warmup: 0,
    inputs: new Map([...inputs].map(([name, t]) => [name, ortTensorBytes(t)])),
    emulateLinks: false,
    slowdowns: new Array<number>(n).fill(1),
    timeoutMs: 20_000,
    ...execute,
  });
  return { maxAbsError: maxAbsError(model, result.outputs, reference.outputs), result };
}
