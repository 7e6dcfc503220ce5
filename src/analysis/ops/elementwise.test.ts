import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { analyzeOne, shapesOf } from '../testing.ts';

test('Add broadcasts numpy-style and costs 1 FLOP per output element', () => {
  const { outputs, op } = analyzeOne('Add', [{ shape: [2, 1, 4] }, { shape: [3, 1] }]);
  assert.deepEqual(outputs[0]!.shape, [2, 3, 4]);
  assert.equal(op.cost.flops, 24);
  assert.equal(op.memory, 'elementwise');
});

test('incompatible shapes are a clear error', () => {
  assert.throws(() => shapesOf('Mul', [{ shape: [2, 3] }, { shape: [4] }]), /Mul node 'mul': shapes \[2,3\] and \[4\] do not broadcast/);
});

test('comparisons give bool; Where broadcasts three operands', () => {
  assert.equal(analyzeOne('Equal', [{ shape: [3] }, { shape: [1] }]).outputs[0]!.dtype, 'bool');
  const { outputs } = analyzeOne('Where', [{ shape: [1, 4], dtype: 'bool' }, { shape: [3, 1] }, { shape: [] }]);
  assert.deepEqual([outputs[0]!.dtype, outputs[0]!.shape], ['float32', [3, 4]]);
});

test('composite activations count their elementary operations', () => {
  const per = (opType: string, attrs = {}) => analyzeOne(opType, [{ shape: [10] }], attrs).op.cost.flops / 10;
  assert.equal(per('Relu'), 1);
  assert.equal(per('Sigmoid'), 4);
  assert.equal(per('HardSwish'), 5);
  assert.equal(per('Gelu'), 5);
  assert.equal(per('Gelu', { approximate: 'tanh' }), 9);
  assert.equal(per('LeakyRelu'), 2);
  assert.equal(per('Clip'), 2);
});

test('variadic Sum/Mean: n−1 (Mean n) FLOPs per output element', () => {
  assert.equal(analyzeOne('Sum', [{ shape: [4] }, { shape: [4] }, { shape: [1] }]).op.cost.flops, 8);
  assert.equal(analyzeOne('Mean', [{ shape: [4] }, { shape: [4] }, { shape: [1] }]).op.cost.flops, 12);
});

test('Cast changes the dtype and costs nothing', () => {
  const { outputs, op } = analyzeOne('Cast', [{ shape: [2, 3] }], { to: 7 });
  assert.deepEqual([outputs[0]!.dtype, outputs[0]!.shape, op.cost.flops, op.cost.bytesWritten], ['int64', [2, 3], 0, 48]);
});

test('property: broadcast output dims are the per-axis maximum, in either operand order', () => {
  const dim = fc.integer({ min: 1, max: 4 });
  fc.assert(
    fc.property(
      fc.array(dim, { maxLength: 4 }),
      fc.array(fc.boolean(), { maxLength: 4 }),
      fc.integer({ min: 0, max: 4 }),
      (full, ones, drop) => {
        // b: a suffix of `full` with some dims replaced by 1 — always broadcastable against full
        const b = full.slice(Math.min(drop, full.length)).map((d, i) => (ones[i] ? 1 : d));
        const ab = shapesOf('Add', [{ shape: full }, { shape: b }])[0];
        const ba = shapesOf('Add', [{ shape: b }, { shape: full }])[0];
        assert.deepEqual(ab, full);
        assert.deepEqual(ba, full);
      },
    ),
    { seed: 42, numRuns: 200 },
  );
});
