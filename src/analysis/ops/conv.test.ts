import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeOne, shapesOf } from '../testing.ts';

test('Conv 7×7 stride 2 pad 3 with bias: shape and FLOPs', () => {
  const { outputs, op } = analyzeOne(
    'Conv',
    [{ shape: [1, 3, 224, 224] }, { shape: [64, 3, 7, 7], weight: true }, { shape: [64], weight: true }],
    { strides: [2, 2], pads: [3, 3, 3, 3] },
  );
  assert.deepEqual(outputs[0]!.shape, [1, 64, 112, 112]);
  // 2·N·Cout·H·W·Cin·kH·kW + N·Cout·H·W for the bias
  assert.equal(op.cost.flops, 2 * 64 * 112 * 112 * 3 * 7 * 7 + 64 * 112 * 112);
  assert.equal(op.cost.weightBytes, (64 * 3 * 49 + 64) * 4);
  assert.equal(op.cost.bytesRead, (3 * 224 * 224 + 64 * 3 * 49 + 64) * 4);
  assert.equal(op.cost.bytesWritten, 64 * 112 * 112 * 4);
  assert.equal(op.memory, 'normal');
});

test('Conv with dilation: effective kernel (k−1)·d+1', () => {
  assert.deepEqual(shapesOf('Conv', [{ shape: [1, 1, 10, 10] }, { shape: [2, 1, 3, 3], weight: true }], { dilations: [2, 2] }), [
    [1, 2, 6, 6],
  ]);
});

test('depthwise Conv (group = channels): FLOPs use Cin/group', () => {
  const { outputs, op } = analyzeOne('Conv', [{ shape: [1, 32, 8, 8] }, { shape: [32, 1, 3, 3], weight: true }], {
    group: 32,
    pads: [1, 1, 1, 1],
  });
  assert.deepEqual(outputs[0]!.shape, [1, 32, 8, 8]);
  assert.equal(op.cost.flops, 2 * 32 * 64 * 1 * 9);
});

test('Conv auto_pad SAME_UPPER and VALID', () => {
  assert.deepEqual(
    shapesOf('Conv', [{ shape: [1, 1, 7, 7] }, { shape: [1, 1, 3, 3], weight: true }], { auto_pad: 'SAME_UPPER', strides: [2, 2] }),
    [[1, 1, 4, 4]],
  );
  assert.deepEqual(
    shapesOf('Conv', [{ shape: [1, 1, 7, 7] }, { shape: [1, 1, 3, 3], weight: true }], { auto_pad: 'VALID', strides: [2, 2] }),
    [[1, 1, 3, 3]],
  );
});

test('Conv 1-D and asymmetric pads', () => {
  assert.deepEqual(shapesOf('Conv', [{ shape: [2, 4, 20] }, { shape: [8, 4, 5], weight: true }], { pads: [0, 2], strides: [3] }), [
    [2, 8, 6],
  ]);
});

test('ConvTranspose stride 2, pad 1, output_padding 1', () => {
  const { outputs, op } = analyzeOne('ConvTranspose', [{ shape: [1, 4, 5, 5] }, { shape: [4, 2, 3, 3], weight: true }], {
    strides: [2, 2],
    pads: [1, 1, 1, 1],
    output_padding: [1, 1],
  });
  // stride·(in−1) + output_padding + kernel − pads = 2·4 + 1 + 3 − 2
  assert.deepEqual(outputs[0]!.shape, [1, 2, 10, 10]);
  assert.equal(op.cost.flops, 2 * (4 * 25) * (2 * 9));
});

test('ConvTranspose with output_shape and group', () => {
  assert.deepEqual(
    shapesOf('ConvTranspose', [{ shape: [1, 4, 5, 5] }, { shape: [4, 3, 3, 3], weight: true }], {
      group: 2,
      strides: [2, 2],
      output_shape: [11, 11],
    }),
    [[1, 6, 11, 11]],
  );
});
