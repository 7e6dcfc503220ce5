import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { MemoriaNovaError } from '../errors.ts';
import type { DType } from './dtype.ts';
import type { Weight, WeightData } from './graph.ts';
import { bfloat16Bits, bfloat16Value, float16Bits, float16Value, weightBytes } from './weights.ts';
import { mulberry32 } from '../random.ts';

const weight = (dtype: DType, shape: number[], data: WeightData): Weight => ({ name: 'w', dtype, shape, data });
const f32 = (bytes: Uint8Array) => [...new Float32Array(bytes.slice().buffer)];
const u16 = (bytes: Uint8Array) => [...new Uint16Array(bytes.slice().buffer)];

describe('mulberry32', () => {
  it('is the published mulberry32 sequence (seed 1 starts 0.6270739405881613)', () => {
    const next = mulberry32(1);
    assert.deepEqual([next(), next(), next()], [0.6270739405881613, 0.002735721180215478, 0.5274470399599522]);
  });
});

describe('weightBytes', () => {
  it('returns inline bytes as they are', () => {
    const bytes = Uint8Array.from([1, 2, 3, 4]);
    assert.equal(weightBytes(weight('float32', [1], { kind: 'inline', bytes })), bytes);
  });

  it('reads an external slice', () => {
    const baseDir = fileURLToPath(new URL('../onnx/testdata/', import.meta.url));
    const b = weightBytes(
      weight('float32', [3], { kind: 'external', baseDir, location: 'tiny-external.onnx.data', offset: 48, length: 12 }),
    );
    assert.deepEqual(f32(b), [1, -2, 3]);
  });

  it('fills every element with the value in the dtype', () => {
    assert.deepEqual(f32(weightBytes(weight('float32', [3], { kind: 'fill', value: 0.5 }))), [0.5, 0.5, 0.5]);
    assert.deepEqual(u16(weightBytes(weight('float16', [2], { kind: 'fill', value: 1 }))), [0x3c00, 0x3c00]);
    assert.deepEqual([...new BigInt64Array(weightBytes(weight('int64', [2], { kind: 'fill', value: -7 })).slice().buffer)], [-7n, -7n]);
    assert.deepEqual([...weightBytes(weight('int4', [3], { kind: 'fill', value: 0 }))], [0, 0]);
    assert.deepEqual([...weightBytes(weight('bool', [2], { kind: 'fill', value: 1 }))], [1, 1]);
  });

  it('generates seeded uniform floats in [low, high): u = mulberry32(seed), value = low + (high - low)·u', () => {
    const next = mulberry32(42);
    const expected = Array.from({ length: 4 }, () => Math.fround(-1 + 2 * next()));
    assert.deepEqual(f32(weightBytes(weight('float32', [2, 2], { kind: 'random', seed: 42, low: -1, high: 1 }))), expected);
  });

  it('is deterministic, differs between seeds, and stays in range for every float and int dtype', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<DType>('float32', 'float16', 'bfloat16', 'float64', 'int8', 'int32', 'int64', 'uint8'),
        fc.nat(),
        fc.double({ min: -100, max: 100, noNaN: true }),
        fc.double({ min: 0.01, max: 100, noNaN: true }),
        (dtype, seed, low, span) => {
          const integer = dtype.startsWith('int') || dtype.startsWith('uint');
          const lo = integer ? Math.ceil(low) : low;
          const hi = integer ? lo + Math.ceil(span) : low + span;
          if (dtype === 'uint8' && lo < 0) return;
          const data: WeightData = { kind: 'random', seed, low: lo, high: hi };
          const a = weightBytes(weight(dtype, [64], data));
          assert.deepEqual(a, weightBytes(weight(dtype, [64], data)));
          for (const v of decode(dtype, a))
            assert.ok(v >= Math.min(lo, roundTo(dtype, lo)) && v < hi, `${dtype} ${v} outside [${lo}, ${hi})`);
        },
      ),
      { seed: 7, numRuns: 300 },
    );
    const one = weightBytes(weight('float32', [8], { kind: 'random', seed: 1, low: 0, high: 1 }));
    const two = weightBytes(weight('float32', [8], { kind: 'random', seed: 2, low: 0, high: 1 }));
    assert.notDeepEqual(one, two);
  });

  it('refuses random values for types it cannot generate', () => {
    assert.throws(() => weightBytes(weight('float8e4m3fn', [2], { kind: 'random', seed: 1, low: 0, high: 1 })), MemoriaNovaError);
    assert.throws(() => weightBytes(weight('float32', [2], { kind: 'random', seed: 1, low: 1, high: 1 })), /empty random range/);
  });
});

describe('half-precision conversions', () => {
  it('float16 bits round to nearest even and saturate to infinity', () => {
    const cases: [number, number][] = [
      [1, 0x3c00],
      [-2, 0xc000],
      [0.1, 0x2e66],
      [65504, 0x7bff],
      [65520, 0x7c00],
      [2 ** -24, 0x0001],
      [2 ** -26, 0x0000],
      [1 + 2 ** -11, 0x3c00],
      [1 + 3 * 2 ** -11, 0x3c02],
      [Infinity, 0x7c00],
    ];
    for (const [value, bits] of cases) assert.equal(float16Bits(value), bits, `float16(${value})`);
    assert.equal(float16Value(0x3c00), 1);
    assert.equal(float16Value(0x0001), 2 ** -24);
    assert.equal(float16Value(0xc000), -2);
  });

  it('bfloat16 bits are the top half of float32, rounded to nearest even', () => {
    assert.equal(bfloat16Bits(1), 0x3f80);
    assert.equal(bfloat16Bits(1 + 2 ** -8), 0x3f80);
    assert.equal(bfloat16Bits(1 + 3 * 2 ** -8), 0x3f82);
    assert.equal(bfloat16Value(0x3f80), 1);
  });
});

function decode(dtype: DType, bytes: Uint8Array): number[] {
  const buffer = bytes.slice().buffer;
  switch (dtype) {
    case 'float32':
      return [...new Float32Array(buffer)];
    case 'float64':
      return [...new Float64Array(buffer)];
    case 'float16':
      return [...new Uint16Array(buffer)].map(float16Value);
    case 'bfloat16':
      return [...new Uint16Array(buffer)].map(bfloat16Value);
    case 'int8':
      return [...new Int8Array(buffer)];
    case 'uint8':
      return [...new Uint8Array(buffer)];
    case 'int32':
      return [...new Int32Array(buffer)];
    case 'int64':
      return [...new BigInt64Array(buffer)].map(Number);
    default:
      throw new Error(dtype);
  }
}

/** `low` itself as the dtype stores it (the smallest value a generated element may take). */
function roundTo(dtype: DType, value: number): number {
  if (dtype === 'float32') return Math.fround(value);
  if (dtype === 'float16') return float16Value(float16Bits(value));
  if (dtype === 'bfloat16') return bfloat16Value(bfloat16Bits(value));
  return value;
}
