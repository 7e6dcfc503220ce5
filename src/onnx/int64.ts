import type { Long } from 'protobufjs';
import { fail } from '../errors.ts';
import type { Int64 } from './proto.ts';

const TWO_32 = 2 ** 32;
const TWO_63 = 2 ** 63;

function toNumber(value: Int64): number {
  if (typeof value === 'number') return value;
  return value.unsigned ? (value.high >>> 0) * TWO_32 + (value.low >>> 0) : value.high * TWO_32 + (value.low >>> 0);
}

/** An int64 field as a JS number, exact or an error naming `what` (dims, sizes, offsets). */
export function exactInt(value: Int64, what: string): number {
  const n = toNumber(value);
  if (!Number.isSafeInteger(n)) fail(`${what} is ${n}, which is not a usable integer`, 'invalid-model');
  return n;
}

/**
 * An int64 attribute value as a JS number. Values beyond ±2^53 (exporters write INT64_MAX as "to the end"
 * in Slice) become the nearest double; `toLong` maps them back to the int64 limits.
 */
export function looseInt(value: Int64): number {
  return toNumber(value);
}

/** A number as an int64 for encoding, saturating at the int64 limits (so 2^63 writes as INT64_MAX). */
export function toLong(value: number): Long {
  if (!Number.isInteger(value)) fail(`${value} is not an integer and cannot be written as int64`, 'invalid-input');
  if (value >= TWO_63) return { low: -1, high: 0x7fffffff, unsigned: false };
  if (value <= -TWO_63) return { low: 0, high: -0x80000000, unsigned: false };
  const high = Math.floor(value / TWO_32);
  return { low: (value - high * TWO_32) | 0, high: high | 0, unsigned: false };
}
