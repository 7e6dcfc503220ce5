import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeOne, shapesOf } from '../testing.ts';

const i64 = (values: number[]) => ({ shape: [values.length], dtype: 'int64' as const, value: values });

test('ReduceMean: axes attribute before opset 18, keepdims', () => {
  const { outputs, op } = analyzeOne('ReduceMean', [{ shape: [2, 3, 4] }], { axes: [-1] }, { opset: 17 });
  assert.deepEqual(outputs[0]!.shape, [2, 3, 1]);
  assert.equal(op.cost.flops, 24);
  assert.deepEqual(shapesOf('ReduceMean', [{ shape: [2, 3, 4] }], { axes: [0, 2], keepdims: 0 }, { opset: 17 }), [[3]]);
});

test('ReduceSum: axes input from opset 13; none reduces all unless noop_with_empty_axes', () => {
  assert.deepEqual(shapesOf('ReduceSum', [{ shape: [2, 3, 4] }, i64([1])], { keepdims: 0 }, { opset: 13 }), [[2, 4]]);
  assert.deepEqual(shapesOf('ReduceSum', [{ shape: [2, 3, 4] }], {}, { opset: 13 }), [[1, 1, 1]]);
  assert.deepEqual(shapesOf('ReduceSum', [{ shape: [2, 3, 4] }], { noop_with_empty_axes: 1 }, { opset: 13 }), [[2, 3, 4]]);
  assert.deepEqual(shapesOf('ReduceMax', [{ shape: [2, 3, 4] }, i64([0])], {}, { opset: 18 }), [[1, 3, 4]]);
});

test('ArgMax gives int64 with the axis reduced', () => {
  const { outputs } = analyzeOne('ArgMax', [{ shape: [2, 3, 4] }], { axis: 1, keepdims: 0 });
  assert.deepEqual([outputs[0]!.dtype, outputs[0]!.shape], ['int64', [2, 4]]);
});

test('normalizations and softmax: stated FLOPs per element', () => {
  const per = (opType: string, operands: Parameters<typeof analyzeOne>[1], attrs = {}) =>
    analyzeOne(opType, operands, attrs).op.cost.flops / 24;
  const x = { shape: [2, 3, 4] };
  assert.equal(per('Softmax', [x]), 5);
  assert.equal(per('LayerNormalization', [x, { shape: [4], weight: true }, { shape: [4], weight: true }]), 7);
  assert.equal(per('LayerNormalization', [x, { shape: [4], weight: true }]), 6);
  const c = { shape: [3], weight: true };
  assert.equal(per('BatchNormalization', [x, c, c, c, c]), 2);
  assert.equal(per('InstanceNormalization', [x, c, c]), 7);
});

test('LayerNormalization statistics outputs keep the leading axes', () => {
  const { outputs } = analyzeOne('LayerNormalization', [{ shape: [2, 3, 4] }, { shape: [4], weight: true }], { axis: -1 }, { outputs: 3 });
  assert.deepEqual(
    outputs.map((o) => o.shape),
    [
      [2, 3, 4],
      [2, 3, 1],
      [2, 3, 1],
    ],
  );
});
