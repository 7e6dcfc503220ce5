import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeOne, shapesOf } from '../testing.ts';

test('NonZero, Compress and Unique take their shapes from constant values', () => {
  const values = { shape: [2, 3], value: [0, 1, 2, 0, 0, 3] };
  assert.deepEqual(shapesOf('NonZero', [values]), [[2, 3]]);
  assert.deepEqual(shapesOf('Compress', [{ shape: [4, 2] }, { shape: [4], dtype: 'bool', value: [1, 0, 1, 1] }], { axis: 0 }), [[3, 2]]);
  assert.deepEqual(shapesOf('Unique', [{ shape: [6], value: [2, 1, 1, 3, 4, 3] }], {}, { outputs: 4 }), [[4], [4], [6], [4]]);
  assert.deepEqual(shapesOf('Unique', [{ shape: [3, 2], value: [1, 2, 1, 2, 3, 4] }], { axis: 0 }, { outputs: 1 }), [[2, 2]]);
});

test('NonZero over a run-time tensor is a dynamic-shape error', () => {
  assert.throws(() => analyzeOne('NonZero', [{ shape: [4] }]), /cannot infer the output shape of NonZero node 'nonzero'/);
});
