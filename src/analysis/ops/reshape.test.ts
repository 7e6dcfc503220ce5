import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeOne, shapesOf } from '../testing.ts';

const i64 = (values: number[]) => ({ shape: [values.length], dtype: 'int64' as const, value: values });

test('Reshape: 0 copies the input dimension, -1 takes the rest', () => {
  const { outputs, op } = analyzeOne('Reshape', [{ shape: [2, 3, 4] }, i64([-1, 0, 2])]);
  assert.deepEqual(outputs[0]!.shape, [4, 3, 2]);
  assert.equal(op.memory, 'alias');
  assert.equal(op.cost.flops, 0);
  assert.deepEqual(shapesOf('Reshape', [{ shape: [2, 3, 4] }, i64([0, -1])]), [[2, 12]]);
});

test('Reshape allowzero keeps a literal 0', () => {
  assert.deepEqual(shapesOf('Reshape', [{ shape: [0, 4] }, i64([4, 0])], { allowzero: 1 }), [[4, 0]]);
});

test('Reshape to a wrong element count is a clear error', () => {
  assert.throws(
    () => shapesOf('Reshape', [{ shape: [2, 3] }, i64([4, 2])]),
    /Reshape node 'reshape': cannot reshape \[2,3\] \(6 elements\) to \[4,2\]/,
  );
});

test('Reshape with a run-time shape and no declared output shape is a dynamic-shape error', () => {
  assert.throws(
    () => shapesOf('Reshape', [{ shape: [2, 3] }, { shape: [2], dtype: 'int64' }]),
    (error: Error & { code?: string }) => error.code === 'dynamic-shape' && /input 1 'x1' is computed at run time/.test(error.message),
  );
});

test('Flatten around an axis', () => {
  assert.deepEqual(shapesOf('Flatten', [{ shape: [2, 3, 4, 5] }], { axis: 2 }), [[6, 20]]);
  assert.deepEqual(shapesOf('Flatten', [{ shape: [2, 3, 4, 5] }], { axis: 0 }), [[1, 120]]);
  assert.deepEqual(shapesOf('Flatten', [{ shape: [2, 3, 4, 5] }], { axis: -1 }), [[24, 5]]);
});

test('Squeeze: axes attribute before opset 13, input from 13, none = all ones', () => {
  assert.deepEqual(shapesOf('Squeeze', [{ shape: [2, 1, 3, 1] }], { axes: [1] }, { opset: 11 }), [[2, 3, 1]]);
  assert.deepEqual(shapesOf('Squeeze', [{ shape: [2, 1, 3, 1] }, i64([-1])], {}, { opset: 13 }), [[2, 1, 3]]);
  assert.deepEqual(shapesOf('Squeeze', [{ shape: [2, 1, 3, 1] }], {}, { opset: 13 }), [[2, 3]]);
  assert.throws(() => shapesOf('Squeeze', [{ shape: [2, 3] }, i64([0])]), /cannot squeeze axis 0 of size 2/);
});

test('Unsqueeze: axes refer to the output rank', () => {
  assert.deepEqual(shapesOf('Unsqueeze', [{ shape: [3] }, i64([0, -1])], {}, { opset: 13 }), [[1, 3, 1]]);
  assert.deepEqual(shapesOf('Unsqueeze', [{ shape: [3, 4] }], { axes: [1] }, { opset: 11 }), [[3, 1, 4]]);
});

test('Identity and Dropout alias their input', () => {
  assert.equal(analyzeOne('Identity', [{ shape: [5] }]).op.memory, 'alias');
  const { outputs, op } = analyzeOne('Dropout', [{ shape: [5] }], {}, { outputs: 2 });
  assert.deepEqual(
    outputs.map((o) => o.dtype),
    ['float32', 'bool'],
  );
  assert.equal(op.memory, 'alias');
});
