import { realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, normalize, sep } from 'node:path';
import { cut, fail } from '../errors.ts';
import { dtypeBits, dtypeFromOnnx, elementCount, tensorBytes, type DType } from '../ir/dtype.ts';
import type { Weight, WeightData } from '../ir/graph.ts';
import { exactInt } from './int64.ts';
import { DEFAULT_IMPORT_LIMITS, overLimit, type ImportLimits } from './limits.ts';
import { asBytes, DATA_LOCATION_EXTERNAL, type Int64, type SparseTensorProto, type TensorProto } from './proto.ts';

/** Tensors above this many bytes are refused as corrupt: no edge model comes near it. */
const MAX_TENSOR_BYTES = 2 ** 40;

export interface TensorContext {
  /** Folder external-data locations are relative to. */
  baseDir: string;
  /** Sizes of external-data files already looked at, so each file is stat'ed once per import. */
  fileSizes?: Map<string, number>;
  /** What the tensors may declare (DEFAULT_IMPORT_LIMITS when absent). */
  limits?: ImportLimits;
  /** Bytes declared so far by this import's tensors: all of them, and sparse ones made dense. */
  declared?: { total: number; sparse: number };
}

/** Charges one tensor's declared bytes against the limits, before anything of that size is allocated. */
function declare(context: TensorContext, bytes: number, dtype: DType, shape: number[], what: string, sparse = false): void {
  const limits = context.limits ?? DEFAULT_IMPORT_LIMITS;
  const declared = (context.declared ??= { total: 0, sparse: 0 });
  const size = `${dtype}[${cut(shape.join(', '))}] (${bytes} bytes${sparse ? ' made dense' : ''})`;
  if (bytes > limits.maxTensorBytes) fail(`${what} is ${size}, ${overLimit(limits, 'maxTensorBytes')}`, 'invalid-model');
  if (sparse && declared.sparse + bytes > limits.maxSparseBytes)
    fail(
      `${what} is ${size}; the sparse initializers would take ${declared.sparse + bytes} bytes made dense, ${overLimit(limits, 'maxSparseBytes')}`,
      'invalid-model',
    );
  if (declared.total + bytes > limits.maxTotalTensorBytes)
    fail(
      `${what} is ${size}, which brings the model's tensors to ${declared.total + bytes} bytes, ${overLimit(limits, 'maxTotalTensorBytes')}`,
      'invalid-model',
    );
  declared.total += bytes;
  if (sparse) declared.sparse += bytes;
}

export function tensorDType(code: number, what: string): DType {
  const dtype = dtypeFromOnnx(code);
  if (dtype === undefined) fail(`${what} has data type ${code}, which is not a known ONNX tensor type`, 'invalid-model');
  return dtype;
}

export function tensorShape(dims: Int64[], what: string): number[] {
  const shape = dims.map((d, i) => {
    const n = exactInt(d, `dimension ${i} of ${what}`);
    if (n < 0) fail(`${what} has a negative dimension (${n})`, 'invalid-model');
    return n;
  });
  const count = elementCount(shape);
  if (!Number.isSafeInteger(count) || count * 8 > MAX_TENSOR_BYTES) {
    fail(`${what} has shape [${cut(shape.join(', '))}], which is too large to be real`, 'invalid-model');
  }
  return shape;
}

/**
 * A TensorProto (initializer, tensor attribute or test-data file) as a Weight. Inline data becomes
 * little-endian raw bytes; external data is only located and stat'ed, never read.
 */
export function weightFromTensorProto(tensor: TensorProto, what: string, context: TensorContext): Weight {
  const dtype = tensorDType(tensor.data_type, what);
  const shape = tensorShape(tensor.dims, what);
  if (tensor.segment) fail(`${what} is stored in segments, which is not supported`, 'invalid-model');
  if (dtype === 'string') fail(`${what} is a string tensor; string tensor data is not supported`, 'invalid-model');
  declare(context, tensorBytes(dtype, shape), dtype, shape, what);
  const data =
    tensor.data_location === DATA_LOCATION_EXTERNAL
      ? externalData(tensor, dtype, shape, what, context)
      : { kind: 'inline' as const, bytes: inlineBytes(tensor, dtype, shape, what) };
  return { name: tensor.name, dtype, shape, data };
}

function externalData(tensor: TensorProto, dtype: DType, shape: number[], what: string, context: TensorContext): WeightData {
  const entries = new Map(tensor.external_data.map((e) => [e.key, e.value]));
  const location = entries.get('location');
  if (location === undefined || location === '') fail(`${what} is marked as external data but names no location`, 'invalid-model');
  const normalized = normalize(location);
  if (isAbsolute(location) || normalized === '..' || normalized.startsWith(`..${sep}`)) {
    fail(`${what} stores its data at '${location}', outside the model's folder`, 'invalid-model');
  }
  const offset = externalInt(entries.get('offset') ?? '0', 'offset', what);
  const expected = tensorBytes(dtype, shape);
  const path = join(context.baseDir, location);
  const fileSizes = context.fileSizes ?? new Map<string, number>();
  let fileSize = fileSizes.get(path);
  if (fileSize === undefined) {
    let stat;
    try {
      stat = statSync(path);
    } catch {
      fail(`${what} stores its data in '${location}', but ${path} does not exist`, 'invalid-model');
    }
    if (!stat.isFile()) fail(`${what} stores its data in '${location}', but ${path} is not a file`, 'invalid-model');
    // A symlink inside the folder may point anywhere: the file actually read must be inside the model's folder too.
    const real = realpathSync(path);
    const root = realpathSync(context.baseDir);
    if (!real.startsWith(root.endsWith(sep) ? root : `${root}${sep}`))
      fail(`${what} stores its data at '${location}', which leads outside the model's folder (to ${real})`, 'invalid-model');
    fileSize = stat.size;
    fileSizes.set(path, fileSize);
  }
  const lengthText = entries.get('length');
  const length = lengthText === undefined ? Math.max(0, fileSize - offset) : externalInt(lengthText, 'length', what);
  if (length !== expected) {
    fail(
      `${what} has ${length} bytes of external data in '${location}', expected ${expected} for ${dtype}[${cut(shape.join(', '))}]`,
      'invalid-model',
    );
  }
  if (offset + length > fileSize) {
    fail(`${what} needs bytes ${offset}..${offset + length} of '${location}', but the file has only ${fileSize} bytes`, 'invalid-model');
  }
  return { kind: 'external', baseDir: context.baseDir, location, offset, length };
}

function externalInt(text: string, key: string, what: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n)) fail(`${what} has external-data ${key} '${text}', which is not a byte count`, 'invalid-model');
  return n;
}

function inlineBytes(tensor: TensorProto, dtype: DType, shape: number[], what: string): Uint8Array {
  const count = elementCount(shape);
  const expected = tensorBytes(dtype, shape);
  const complex = dtype === 'complex64' || dtype === 'complex128';
  const check = (field: string, got: number, want: number) => {
    if (got !== want)
      fail(`${what} has ${got} values in ${field}, expected ${want} for ${dtype}[${cut(shape.join(', '))}]`, 'invalid-model');
  };
  if (tensor.raw_data.length > 0 || expected === 0) {
    if (tensor.raw_data.length !== expected) {
      fail(
        `${what} has ${tensor.raw_data.length} bytes of raw_data, expected ${expected} for ${dtype}[${cut(shape.join(', '))}]`,
        'invalid-model',
      );
    }
    // A plain view, not a Buffer, so every inline weight has the same type whatever the source.
    return asBytes(tensor.raw_data);
  }
  if (tensor.float_data.length > 0) {
    if (dtype !== 'float32' && dtype !== 'complex64') fail(`${what} is ${dtype} but stores float_data`, 'invalid-model');
    check('float_data', tensor.float_data.length, complex ? 2 * count : count);
    return new Uint8Array(Float32Array.from(tensor.float_data).buffer);
  }
  if (tensor.double_data.length > 0) {
    if (dtype !== 'float64' && dtype !== 'complex128') fail(`${what} is ${dtype} but stores double_data`, 'invalid-model');
    check('double_data', tensor.double_data.length, complex ? 2 * count : count);
    return new Uint8Array(Float64Array.from(tensor.double_data).buffer);
  }
  if (tensor.int64_data.length > 0) {
    if (dtype !== 'int64') fail(`${what} is ${dtype} but stores int64_data`, 'invalid-model');
    check('int64_data', tensor.int64_data.length, count);
    return int64Bytes(tensor.int64_data);
  }
  if (tensor.uint64_data.length > 0) {
    if (dtype !== 'uint32' && dtype !== 'uint64') fail(`${what} is ${dtype} but stores uint64_data`, 'invalid-model');
    check('uint64_data', tensor.uint64_data.length, count);
    if (dtype === 'uint64') return int64Bytes(tensor.uint64_data);
    const out = new Uint32Array(count);
    tensor.uint64_data.forEach((v, i) => (out[i] = typeof v === 'number' ? v : v.low));
    return new Uint8Array(out.buffer);
  }
  if (tensor.int32_data.length > 0) return int32FieldBytes(tensor.int32_data, dtype, shape, what);
  fail(`${what} has ${count} elements but no data`, 'invalid-model');
}

/** int32_data holds one element per entry for 8-, 16- and 32-bit types, one packed byte for 4-bit types. */
function int32FieldBytes(values: number[], dtype: DType, shape: number[], what: string): Uint8Array {
  const bits = dtypeBits(dtype);
  const count = elementCount(shape);
  const entries = bits === 4 ? Math.ceil(count / 2) : count;
  if (
    dtype === 'float32' ||
    dtype === 'float64' ||
    dtype === 'int64' ||
    dtype === 'uint32' ||
    dtype === 'uint64' ||
    dtype.startsWith('complex')
  ) {
    fail(`${what} is ${dtype} but stores int32_data`, 'invalid-model');
  }
  if (values.length !== entries)
    fail(`${what} has ${values.length} values in int32_data, expected ${entries} for ${dtype}[${cut(shape.join(', '))}]`, 'invalid-model');
  if (bits === 32) return new Uint8Array(Int32Array.from(values).buffer);
  if (bits === 16) return new Uint8Array(Uint16Array.from(values, (v) => v & 0xffff).buffer);
  return Uint8Array.from(values, (v) => v & 0xff);
}

function int64Bytes(values: Int64[]): Uint8Array {
  const out = new Uint8Array(values.length * 8);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => {
    if (typeof v === 'number') {
      view.setBigInt64(i * 8, BigInt(Math.trunc(v)), true);
    } else {
      view.setInt32(i * 8, v.low, true);
      view.setInt32(i * 8 + 4, v.high, true);
    }
  });
  return out;
}

/**
 * A sparse initializer made dense: planning and execution see the tensor the operators read. Indices are
 * either linear ([NNZ]) or coordinates ([NNZ, rank]), as the ONNX spec allows.
 */
export function weightFromSparseProto(sparse: SparseTensorProto, context: TensorContext): Weight {
  if (!sparse.values || !sparse.indices) fail('a sparse initializer lacks its values or indices', 'invalid-model');
  const name = sparse.values.name;
  const what = `sparse initializer '${name}'`;
  const values = weightFromTensorProto(sparse.values, what, context);
  const indices = weightFromTensorProto(sparse.indices, `indices of ${what}`, context);
  const shape = tensorShape(sparse.dims, what);
  if (values.data.kind !== 'inline' || indices.data.kind !== 'inline')
    fail(`${what} keeps its values or indices in external data, which is not supported`, 'invalid-model');
  if (indices.dtype !== 'int64') fail(`${what} has ${indices.dtype} indices; ONNX requires int64`, 'invalid-model');
  const elementBytes = dtypeBits(values.dtype) / 8;
  if (!Number.isInteger(elementBytes)) fail(`${what} is ${values.dtype}; sub-byte sparse tensors are not supported`, 'invalid-model');
  const nnz = values.shape[0] ?? 0;
  const rank = indices.shape.length === 2 ? indices.shape[1]! : 1;
  const total = elementCount(shape);
  declare(context, tensorBytes(values.dtype, shape), values.dtype, shape, what, true);
  const out = new Uint8Array(tensorBytes(values.dtype, shape));
  const index = new DataView(indices.data.bytes.buffer, indices.data.bytes.byteOffset, indices.data.bytes.byteLength);
  if (elementCount(indices.shape) !== nnz * rank || (rank !== 1 && rank !== shape.length))
    fail(`${what} has indices of shape [${cut(indices.shape.join(', '))}] for ${nnz} values`, 'invalid-model');
  for (let k = 0; k < nnz; k++) {
    let linear = 0;
    if (indices.shape.length === 2) {
      for (let d = 0; d < rank; d++) linear = linear * shape[d]! + Number(index.getBigInt64((k * rank + d) * 8, true));
    } else {
      linear = Number(index.getBigInt64(k * 8, true));
    }
    if (!(linear >= 0 && linear < total)) fail(`${what} has an index out of range`, 'invalid-model');
    out.set(values.data.bytes.subarray(k * elementBytes, (k + 1) * elementBytes), linear * elementBytes);
  }
  return { name, dtype: values.dtype, shape, data: { kind: 'inline', bytes: out } };
}
