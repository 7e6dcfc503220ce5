import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeOne } from '../testing.ts';

test('QuantizeLinear takes the zero point type, DequantizeLinear the scale type', () => {
  const q = analyzeOne('QuantizeLinear', [{ shape: [2, 4] }, { shape: [], value: [0.5] }, { shape: [], dtype: 'int8', value: [0] }]);
  assert.deepEqual([q.outputs[0]!.dtype, q.outputs[0]!.shape, q.op.cost.flops], ['int8', [2, 4], 24]);
  assert.equal(analyzeOne('QuantizeLinear', [{ shape: [2, 4] }, { shape: [], value: [0.5] }]).outputs[0]!.dtype, 'uint8');
  const d = analyzeOne('DequantizeLinear', [
    { shape: [2, 4], dtype: 'uint8' },
    { shape: [], value: [0.5] },
  ]);
  assert.deepEqual([d.outputs[0]!.dtype, d.op.cost.flops], ['float32', 16]);
});

test('NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss reduce to scalars unless reduction is none', () => {
  const scores = { shape: [3, 5] };
  const labels = { shape: [3], dtype: 'int64' as const };
  assert.deepEqual(analyzeOne('NegativeLogLikelihoodLoss', [scores, labels]).outputs[0]!.shape, []);
  assert.deepEqual(analyzeOne('NegativeLogLikelihoodLoss', [scores, labels], { reduction: 'none' }).outputs[0]!.shape, [3]);
  const sce = analyzeOne('SoftmaxCrossEntropyLoss', [scores, labels], {}, { outputs: 2 });
  assert.deepEqual(
    sce.outputs.map((o) => o.shape),
    [[], [3, 5]],
  );
  assert.equal(sce.op.cost.flops, 5 * 15 + 2 * 3);
});
