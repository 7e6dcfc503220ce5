import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from '../ir/builder.ts';
import { analyzeGraph } from './analyze.ts';
import { summarize } from './summary.ts';

test('summarize: operators, params (float weights only), weight bytes, FLOPs, largest activations', () => {
  const b = new GraphBuilder('tiny');
  const x = b.input('x', 'float32', [1, 3, 8, 8]);
  const conv = b.op('Conv', [x, b.weight('w', [4, 3, 3, 3]), b.weight('bias', [4])], { pads: [1, 1, 1, 1] });
  const relu = b.op('Relu', [conv]);
  const pooled = b.op('GlobalAveragePool', [relu]);
  const flat = b.op('Reshape', [pooled, b.int64('shape', [1, 4])]);
  b.output(b.op('Gemm', [flat, b.weight('fc', [2, 4])], { transB: 1 }));
  const summary = summarize(analyzeGraph(b.build()), { largest: 2 });
  assert.equal(summary.operators, 5);
  assert.deepEqual(summary.opsByType, { Conv: 1, Gemm: 1, GlobalAveragePool: 1, Relu: 1, Reshape: 1 });
  // 4·3·3·3 + 4 + 2·4; the int64 shape constant is not a parameter but counts in weight bytes
  assert.equal(summary.params, 108 + 4 + 8);
  assert.equal(summary.weightBytes, 120 * 4 + 2 * 8);
  // Conv 2·4·64·27 + 4·64, Relu 256, GAP 256, Reshape 0, Gemm 2·1·2·4
  assert.equal(summary.flops, 13824 + 256 + 256 + 256 + 16);
  assert.deepEqual(
    summary.largestActivations.map((t) => [t.name, t.bytes]),
    [
      ['conv_out', 1024],
      ['relu_out', 1024],
    ],
  );
  assert.equal(summary.opaqueOperators, 0);
});

test('summarize: fileTensors counts the source graph’s initializer and Constant-node elements before folding', () => {
  const b = new GraphBuilder('file');
  const x = b.input('x', 'float32', [2, 3]);
  const scale = b.op('Constant', [], { value_floats: [1, 2, 3] });
  const shape = b.op('Constant', [], { value_ints: [3, 2] });
  const scaled = b.op('Mul', [x, scale]);
  b.output(b.op('Reshape', [b.op('Add', [scaled, b.weight('bias', [2, 3])]), shape]));
  const summary = summarize(analyzeGraph(b.build()));
  // bias 2·3 = 6 initializer elements; Constant nodes 3 + 2 = 5 (folded into initializers, so params counts
  // the float scale too: 6 + 3)
  assert.deepEqual(summary.fileTensors, { initializerElements: 6, constantNodeElements: 5 }, 'file tensors');
  assert.equal(summary.params, 9, 'params');
});
