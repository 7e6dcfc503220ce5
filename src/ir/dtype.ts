/** Element types, named after ONNX's TensorProto.DataType; the array index is the ONNX enum code. */
export const ONNX_DTYPES = [
  'undefined',
  'float32',
  'uint8',
  'int8',
  'uint16',
  'int16',
  'int32',
  'int64',
  'string',
  'bool',
  'float16',
  'float64',
  'uint32',
  'uint64',
  'complex64',
  'complex128',
  'bfloat16',
  'float8e4m3fn',
  'float8e4m3fnuz',
  'float8e5m2',
  'float8e5m2fnuz',
  'uint4',
  'int4',
  'float4e2m1',
] as const;

export type DType = Exclude<(typeof ONNX_DTYPES)[number], 'undefined'>;

const BITS: Record<DType, number> = {
  float32: 32,
  uint8: 8,
  int8: 8,
  uint16: 16,
  int16: 16,
  int32: 32,
  int64: 64,
  // A string tensor is counted as one pointer-sized slot per element; its characters live elsewhere.
  string: 64,
  bool: 8,
  float16: 16,
  float64: 64,
  uint32: 32,
  uint64: 64,
  complex64: 64,
  complex128: 128,
  bfloat16: 16,
  float8e4m3fn: 8,
  float8e4m3fnuz: 8,
  float8e5m2: 8,
  float8e5m2fnuz: 8,
  uint4: 4,
  int4: 4,
  float4e2m1: 4,
};

export function dtypeFromOnnx(code: number): DType | undefined {
  const name = ONNX_DTYPES[code];
  return name === undefined || name === 'undefined' ? undefined : name;
}

export function dtypeToOnnx(dtype: DType): number {
  return ONNX_DTYPES.indexOf(dtype);
}

export function dtypeBits(dtype: DType): number {
  return BITS[dtype];
}

export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Bytes of a dense tensor: ceil(elements × bits / 8). */
export function tensorBytes(dtype: DType, shape: readonly number[]): number {
  return Math.ceil((elementCount(shape) * BITS[dtype]) / 8);
}

export function isFloatType(dtype: DType): boolean {
  return dtype.startsWith('float') || dtype === 'bfloat16';
}
