import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyzeGraph } from '../analysis/analyze.ts';
import { GraphBuilder } from '../ir/builder.ts';
import type { Model } from '../ir/graph.ts';
import { optimisedOpTimes, type TracedKernel } from './kernels.ts';

/** conv → bn → relu (one `conv` group) → pool, then x + bias → LayerNormalization twice (two `skip-layer-norm` groups). */
function model(): Model {
  const b = new GraphBuilder('kernels', { seed: 1 });
  const x = b.input('x', 'float32', [1, 2, 4, 4]);
  const c = b.op('Conv', [x, b.weight('w', [2, 2, 1, 1])], {}, 'conv');
  const bn = b.op('BatchNormalization', [c, b.weight('s', [2]), b.weight('o', [2]), b.weight('m', [2]), b.fill('v', [2], 1)], {}, 'bn');
  const relu = b.op('Relu', [bn], {}, 'relu');
  b.output(b.op('MaxPool', [relu], { kernel_shape: [2, 2], strides: [2, 2] }, 'pool'));
  const t = b.input('t', 'float32', [1, 4, 8]);
  const s1 = b.op('Add', [t, b.input('r1', 'float32', [1, 4, 8])], {}, 'add1');
  const n1 = b.op('LayerNormalization', [s1, b.weight('g1', [8]), b.weight('b1', [8])], { axis: -1 }, 'ln1');
  const s2 = b.op('Add', [n1, b.input('r2', 'float32', [1, 4, 8])], {}, 'add2');
  b.output(b.op('LayerNormalization', [s2, b.weight('g2', [8]), b.weight('b2', [8])], { axis: -1 }, 'ln2'));
  return analyzeGraph(b.build(), { name: 'kernels' });
}

const unoptimised = new Map([
  ['conv', 6],
  ['bn', 1],
  ['relu', 1],
  ['pool', 2],
  ['add1', 1],
  ['ln1', 3],
  ['add2', 1],
  ['ln2', 3],
]);
const kernel = (ms: number, opType: string): TracedKernel => ({ ms, opType });

describe('optimisedOpTimes', () => {
  it('divides a fused kernel among its group by the unoptimised times; type-named kernels map in order', () => {
    const optimised = new Map([
      ['relu_nchwc', kernel(4, 'Conv')], // the NCHWc name of the conv group's output tensor (the Relu's, named 'relu' here)
      ['pool', kernel(1, 'MaxPool')],
      ['ReorderOutput', kernel(0.5, 'ReorderOutput')],
      ['SkipLayerNormalization', kernel(2, 'SkipLayerNormalization')],
      ['SkipLayerNormalization_token_1', kernel(6, 'SkipLayerNormalization')],
    ]);
    const times = optimisedOpTimes(model(), unoptimised, optimised)!;
    // The conv group's 4 ms split 6:1:1; the reorder (0.5 of 13.5 ms, 3.7%) maps onto no operator.
    assert.deepEqual(Object.fromEntries(times), { conv: 3, bn: 0.5, relu: 0.5, pool: 1, add1: 0.5, ln1: 1.5, add2: 1.5, ln2: 4.5 });
  });

  it('falls back (null) when under 90% of the optimised time maps onto operators', () => {
    const optimised = new Map([
      ['relu_nchwc', kernel(4, 'Conv')],
      ['SomethingElse', kernel(1, 'Conv')],
    ]);
    assert.equal(optimisedOpTimes(model(), unoptimised, optimised), null);
  });

  it('gives 0 to a group no kernel covers, and leaves type-named kernels unmapped when their count differs', () => {
    const optimised = new Map([
      ['fused conv', kernel(8, 'FusedConv')],
      ['SkipLayerNormalization', kernel(0.5, 'SkipLayerNormalization')],
    ]);
    const times = optimisedOpTimes(model(), unoptimised, optimised)!;
    assert.equal(times.get('conv'), 6);
    assert.equal(times.get('pool'), 0);
    assert.equal(times.get('ln1'), 0);
  });
});
