import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeOne, shapesOf } from '../testing.ts';

test('Gemm with transB and C: 2·M·N·K + M·N', () => {
  const { outputs, op } = analyzeOne('Gemm', [{ shape: [4, 8] }, { shape: [16, 8], weight: true }, { shape: [16], weight: true }], {
    transB: 1,
  });
  assert.deepEqual(outputs[0]!.shape, [4, 16]);
  assert.equal(op.cost.flops, 2 * 4 * 16 * 8 + 4 * 16);
});

test('Gemm transA without C', () => {
  const { outputs, op } = analyzeOne('Gemm', [{ shape: [8, 4] }, { shape: [8, 16], weight: true }], { transA: 1 });
  assert.deepEqual(outputs[0]!.shape, [4, 16]);
  assert.equal(op.cost.flops, 2 * 4 * 16 * 8);
});

test('MatMul broadcasts batch dimensions', () => {
  const { outputs, op } = analyzeOne('MatMul', [{ shape: [2, 1, 3, 4] }, { shape: [5, 4, 6] }]);
  assert.deepEqual(outputs[0]!.shape, [2, 5, 3, 6]);
  assert.equal(op.cost.flops, 2 * (2 * 5) * 3 * 6 * 4);
});

test('MatMul with 1-D operands drops the promoted axis', () => {
  assert.deepEqual(shapesOf('MatMul', [{ shape: [4] }, { shape: [4, 6] }]), [[6]]);
  assert.deepEqual(shapesOf('MatMul', [{ shape: [3, 4] }, { shape: [4] }]), [[3]]);
  assert.deepEqual(shapesOf('MatMul', [{ shape: [4] }, { shape: [4] }]), [[]]);
});

test('MatMul with mismatched inner dimensions is a clear error', () => {
  assert.throws(() => shapesOf('MatMul', [{ shape: [3, 4] }, { shape: [5, 6] }]), /MatMul node 'matmul': inner dimensions differ/);
});

test('Einsum batched matmul, explicit and implicit output', () => {
  const { outputs, op } = analyzeOne('Einsum', [{ shape: [2, 3, 4] }, { shape: [2, 4, 5] }], { equation: 'bij,bjk->bik' });
  assert.deepEqual(outputs[0]!.shape, [2, 3, 5]);
  assert.equal(op.cost.flops, 2 * 2 * 3 * 4 * 5);
  assert.deepEqual(shapesOf('Einsum', [{ shape: [3, 4] }, { shape: [4, 5] }], { equation: 'ij,jk' }), [[3, 5]]);
  assert.deepEqual(shapesOf('Einsum', [{ shape: [3, 4] }], { equation: 'ij->ji' }), [[4, 3]]);
});
