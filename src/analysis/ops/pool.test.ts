import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeOne, shapesOf } from '../testing.ts';

test('MaxPool 3×3 stride 2 pad 1', () => {
  assert.deepEqual(shapesOf('MaxPool', [{ shape: [1, 64, 112, 112] }], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }), [
    [1, 64, 56, 56],
  ]);
});

test('MaxPool ceil_mode rounds up and FLOPs count kernel elements per output', () => {
  const { outputs, op } = analyzeOne('MaxPool', [{ shape: [1, 1, 5, 5] }], { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 });
  assert.deepEqual(outputs[0]!.shape, [1, 1, 3, 3]);
  assert.equal(op.cost.flops, 9 * 4);
});

test('ceil_mode drops a window that would start past the input', () => {
  // windows start at 0 and 2; a third would start at 4 = the input size
  assert.deepEqual(shapesOf('MaxPool', [{ shape: [1, 1, 4, 4] }], { kernel_shape: [1, 1], strides: [2, 2], ceil_mode: 1 }), [[1, 1, 2, 2]]);
});

test('AveragePool with dilations and SAME_LOWER', () => {
  assert.deepEqual(shapesOf('AveragePool', [{ shape: [1, 1, 9, 9] }], { kernel_shape: [3, 3], dilations: [2, 2] }), [[1, 1, 5, 5]]);
  assert.deepEqual(shapesOf('AveragePool', [{ shape: [1, 1, 9, 9] }], { kernel_shape: [3, 3], strides: [2, 2], auto_pad: 'SAME_LOWER' }), [
    [1, 1, 5, 5],
  ]);
});

test('MaxPool with the Indices output', () => {
  const { outputs } = analyzeOne('MaxPool', [{ shape: [1, 2, 4, 4] }], { kernel_shape: [2, 2], strides: [2, 2] }, { outputs: 2 });
  assert.deepEqual(
    outputs.map((o) => [o.dtype, o.shape]),
    [
      ['float32', [1, 2, 2, 2]],
      ['int64', [1, 2, 2, 2]],
    ],
  );
});

test('global pooling keeps N and C and costs one FLOP per input element', () => {
  const { outputs, op } = analyzeOne('GlobalAveragePool', [{ shape: [2, 8, 7, 7] }]);
  assert.deepEqual(outputs[0]!.shape, [2, 8, 1, 1]);
  assert.equal(op.cost.flops, 2 * 8 * 49);
  assert.deepEqual(shapesOf('GlobalMaxPool', [{ shape: [1, 3, 5] }]), [[1, 3, 1]]);
});
