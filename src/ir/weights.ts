import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { fail } from '../errors.ts';
import { dtypeBits, elementCount, tensorBytes } from './dtype.ts';
import type { Weight } from './graph.ts';
import { mulberry32 } from '../random.ts';

/**
 * A weight's bytes, little-endian, row-major, as ONNX raw_data stores them. Inline data is returned as is,
 * external data is read from its file, fills and seeded random weights are generated (docs/onnx-import.md,
 * "Weight data"). Only export and execution call this: planning never needs weight bytes.
 */
export function weightBytes(weight: Weight): Uint8Array {
  const data = weight.data;
  switch (data.kind) {
    case 'inline':
      return data.bytes;
    case 'external':
      return readSlice(weight.name, join(data.baseDir, data.location), data.offset, data.length);
    case 'fill':
      return filled(weight, data.value);
    case 'random':
      return randomBytes(weight, data.seed, data.low, data.high);
  }
}

function readSlice(name: string, path: string, offset: number, length: number): Uint8Array {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    fail(`weight '${name}': its external data file ${path} cannot be opened (missing?)`, 'invalid-model');
  }
  try {
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const n = readSync(fd, out, done, Math.min(length - done, 1 << 30), offset + done);
      if (n === 0) fail(`weight '${name}': external data file ${path} ends before byte ${offset + length}`, 'invalid-model');
      done += n;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

type Generator = (i: number) => number;

/** Writes n elements of `dtype` produced by `value(i)` into fresh little-endian bytes. */
function encode(weight: Weight, value: Generator, high?: number, low?: number): Uint8Array {
  const { dtype, shape } = weight;
  const n = elementCount(shape);
  const out = new Uint8Array(tensorBytes(dtype, shape));
  const view = new DataView(out.buffer);
  // Rounding to the element type may land on `high`; such elements take `low`, keeping values in [low, high).
  const inRange = (rounded: number, v: number) => (high !== undefined && rounded >= high ? low! : v);
  switch (dtype) {
    case 'float32': {
      const a = new Float32Array(out.buffer);
      for (let i = 0; i < n; i++) {
        const v = value(i);
        a[i] = v;
        if (high !== undefined && a[i]! >= high) a[i] = low!;
      }
      return out;
    }
    case 'float64': {
      const a = new Float64Array(out.buffer);
      for (let i = 0; i < n; i++) a[i] = value(i);
      return out;
    }
    case 'float16':
      for (let i = 0; i < n; i++) {
        const v = value(i);
        view.setUint16(i * 2, float16Bits(inRange(float16Value(float16Bits(v)), v)), true);
      }
      return out;
    case 'bfloat16':
      for (let i = 0; i < n; i++) {
        const v = value(i);
        view.setUint16(i * 2, bfloat16Bits(inRange(bfloat16Value(bfloat16Bits(v)), v)), true);
      }
      return out;
    case 'int8':
      for (let i = 0; i < n; i++) view.setInt8(i, clampInt(value(i), -128, 127));
      return out;
    case 'uint8':
      for (let i = 0; i < n; i++) view.setUint8(i, clampInt(value(i), 0, 255));
      return out;
    case 'int16':
      for (let i = 0; i < n; i++) view.setInt16(i * 2, clampInt(value(i), -32768, 32767), true);
      return out;
    case 'uint16':
      for (let i = 0; i < n; i++) view.setUint16(i * 2, clampInt(value(i), 0, 65535), true);
      return out;
    case 'int32':
      for (let i = 0; i < n; i++) view.setInt32(i * 4, clampInt(value(i), -(2 ** 31), 2 ** 31 - 1), true);
      return out;
    case 'uint32':
      for (let i = 0; i < n; i++) view.setUint32(i * 4, clampInt(value(i), 0, 2 ** 32 - 1), true);
      return out;
    case 'int64':
      for (let i = 0; i < n; i++)
        view.setBigInt64(i * 8, BigInt(clampInt(value(i), Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)), true);
      return out;
    case 'uint64':
      for (let i = 0; i < n; i++) view.setBigUint64(i * 8, BigInt(clampInt(value(i), 0, Number.MAX_SAFE_INTEGER)), true);
      return out;
    case 'bool':
      for (let i = 0; i < n; i++) view.setUint8(i, Math.floor(value(i)) !== 0 ? 1 : 0);
      return out;
    default:
      fail(
        `weight '${weight.name}' is ${dtype} (${dtypeBits(dtype)}-bit); generated values are not supported for this type`,
        'invalid-input',
      );
  }
}

function clampInt(v: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.floor(v)));
}

function filled(weight: Weight, value: number): Uint8Array {
  // Zero is all-zero bytes in every type, including the packed and 8-bit float formats.
  if (value === 0 && weight.dtype !== 'string') return new Uint8Array(tensorBytes(weight.dtype, weight.shape));
  return encode(weight, () => value);
}

function randomBytes(weight: Weight, seed: number, low: number, high: number): Uint8Array {
  if (!(high > low)) fail(`weight '${weight.name}' has an empty random range [${low}, ${high})`, 'invalid-input');
  const next = mulberry32(seed);
  const span = high - low;
  return encode(weight, () => low + span * next(), high, low);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE 754 binary16 bits of a number, rounding to nearest even (via float32). */
export function float16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const rawExp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (rawExp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  const exp = rawExp - 127 + 15;
  if (exp >= 0x1f) return sign | 0x7c00;
  if (exp <= 0) {
    if (exp < -10) return sign;
    const full = mant | 0x800000;
    const shift = 14 - exp;
    let h = full >>> shift;
    const rest = full & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rest > half || (rest === half && (h & 1) === 1)) h++;
    return sign | h;
  }
  let h = (exp << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (up to infinity).
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++;
  return sign | h;
}

export function float16Value(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** bfloat16 bits: the top half of the float32, rounded to nearest even. */
export function bfloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  if (Number.isNaN(value)) return 0x7fc0;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

export function bfloat16Value(bits: number): number {
  u32[0] = bits << 16;
  return f32[0]!;
}
