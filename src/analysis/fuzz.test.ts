import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MemoriaNovaError } from '../errors.ts';
import type { AttributeInput } from '../ir/builder.ts';
import { supportedOperators } from './ops/registry.ts';
import { analyzeOne, type Operand } from './testing.ts';

const operators = supportedOperators().filter((op) => op !== 'Constant');
const shape = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 });
const operand: fc.Arbitrary<Operand> = fc.oneof(
  fc.record({ shape, dtype: fc.constantFrom('float32' as const, 'int64' as const, 'bool' as const) }),
  // small integer constants, as shapes, axes and pads are
  fc
    .array(fc.integer({ min: -5, max: 6 }), { minLength: 0, maxLength: 5 })
    .map((value) => ({ shape: [value.length], dtype: 'int64' as const, value })),
);
const ints = fc.array(fc.integer({ min: -3, max: 4 }), { maxLength: 6 });
const attributes: fc.Arbitrary<Record<string, AttributeInput>> = fc.record(
  {
    axis: fc.integer({ min: -4, max: 4 }),
    axes: ints,
    perm: ints,
    kernel_shape: ints,
    pads: ints,
    strides: ints,
    dilations: ints,
    group: fc.integer({ min: 0, max: 3 }),
    keepdims: fc.integer({ min: 0, max: 1 }),
    blocksize: fc.integer({ min: -1, max: 3 }),
    equation: fc.constantFrom('ij,jk->ik', 'i...->...', 'ab', ',->'),
    to: fc.integer({ min: 0, max: 30 }),
    split: ints,
    starts: ints,
    ends: ints,
    ceil_mode: fc.integer({ min: 0, max: 1 }),
  },
  { requiredKeys: [] },
);

test('property: any operator over random operands and attributes infers valid shapes or fails cleanly', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...operators),
      fc.array(operand, { minLength: 0, maxLength: 4 }),
      attributes,
      fc.integer({ min: 1, max: 3 }),
      fc.constantFrom(9, 11, 13, 17, 18),
      (opType, operands, attrs, outputs, opset) => {
        try {
          const { model } = analyzeOne(opType, operands, attrs, { outputs, opset });
          for (const t of model.tensors.values()) {
            assert.ok(
              t.shape.every((d) => Number.isSafeInteger(d) && d >= 0),
              `${opType}: ${t.name} [${t.shape.join(',')}]`,
            );
            assert.ok(Number.isSafeInteger(t.bytes), `${opType}: ${t.name} bytes ${t.bytes}`);
          }
          for (const op of model.ops) assert.ok(Number.isFinite(op.cost.flops) && op.cost.flops >= 0, `${opType}: flops ${op.cost.flops}`);
        } catch (error) {
          if (!(error instanceof MemoriaNovaError)) throw error;
        }
      },
    ),
    { seed: 2024, numRuns: 3000 },
  );
});
