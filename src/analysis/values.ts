import { elementCount, tensorBytes, type DType } from '../ir/dtype.ts';
import type { Weight } from '../ir/graph.ts';

function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

type Reader = (view: DataView, index: number) => number;
type Writer = (view: DataView, index: number, value: number) => void;

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

function toBigInt(value: number): bigint {
  const big = BigInt(Math.trunc(value));
  return big > INT64_MAX ? INT64_MAX : big < INT64_MIN ? INT64_MIN : big;
}

/** Element codecs for the dtypes folding computes with (little-endian, as ONNX raw_data). */
const CODECS: Partial<Record<DType, { size: number; read: Reader; write?: Writer }>> = {
  float32: { size: 4, read: (v, i) => v.getFloat32(i * 4, true), write: (v, i, x) => v.setFloat32(i * 4, x, true) },
  float64: { size: 8, read: (v, i) => v.getFloat64(i * 8, true), write: (v, i, x) => v.setFloat64(i * 8, x, true) },
  float16: { size: 2, read: (v, i) => halfToNumber(v.getUint16(i * 2, true)) },
  bfloat16: { size: 2, read: (v, i) => new Float32Array(new Uint32Array([v.getUint16(i * 2, true) << 16]).buffer)[0]! },
  int8: { size: 1, read: (v, i) => v.getInt8(i), write: (v, i, x) => v.setInt8(i, x) },
  uint8: { size: 1, read: (v, i) => v.getUint8(i), write: (v, i, x) => v.setUint8(i, x) },
  bool: { size: 1, read: (v, i) => (v.getUint8(i) !== 0 ? 1 : 0), write: (v, i, x) => v.setUint8(i, x !== 0 ? 1 : 0) },
  int16: { size: 2, read: (v, i) => v.getInt16(i * 2, true), write: (v, i, x) => v.setInt16(i * 2, x, true) },
  uint16: { size: 2, read: (v, i) => v.getUint16(i * 2, true), write: (v, i, x) => v.setUint16(i * 2, x, true) },
  int32: { size: 4, read: (v, i) => v.getInt32(i * 4, true), write: (v, i, x) => v.setInt32(i * 4, x, true) },
  uint32: { size: 4, read: (v, i) => v.getUint32(i * 4, true), write: (v, i, x) => v.setUint32(i * 4, x, true) },
  int64: { size: 8, read: (v, i) => Number(v.getBigInt64(i * 8, true)), write: (v, i, x) => v.setBigInt64(i * 8, toBigInt(x), true) },
  uint64: {
    size: 8,
    read: (v, i) => Number(v.getBigUint64(i * 8, true)),
    write: (v, i, x) => v.setBigUint64(i * 8, BigInt.asUintN(64, toBigInt(x)), true),
  },
};

/** Dtypes whose folded values can be written back as inline initializer bytes. */
export function canEncode(dtype: DType): boolean {
  return CODECS[dtype]?.write !== undefined;
}

/**
 * The element values of a weight, when they are known without reading side files and the weight has at most
 * `limit` elements: inline bytes and fills. Random (zoo) and external weights give undefined.
 */
export function weightValues(weight: Weight, limit: number): number[] | undefined {
  const count = elementCount(weight.shape);
  if (count > limit) return undefined;
  if (weight.data.kind === 'fill') return new Array<number>(count).fill(weight.data.value);
  if (weight.data.kind !== 'inline') return undefined;
  const codec = CODECS[weight.dtype];
  const bytes = weight.data.bytes;
  if (codec === undefined || bytes.byteLength !== count * codec.size) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: count }, (_, i) => codec.read(view, i));
}

/** Inline little-endian bytes of `values` as `dtype` (see canEncode). */
export function encodeValues(dtype: DType, shape: number[], values: number[]): Uint8Array {
  const write = CODECS[dtype]!.write!;
  const bytes = new Uint8Array(tensorBytes(dtype, shape));
  const view = new DataView(bytes.buffer);
  values.forEach((x, i) => write(view, i, x));
  return bytes;
}
