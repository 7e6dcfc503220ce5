import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fail, MemoriaNovaError } from '../errors.ts';
import { dtypeToOnnx, elementCount, type DType } from '../ir/dtype.ts';
import { weightBytes } from '../ir/weights.ts';
import { asBytes, onnxTypes, type TensorProto } from './proto.ts';
import { tensorShape, weightFromTensorProto } from './tensor-proto.ts';

export interface TensorFile {
  name: string;
  dtype: DType;
  shape: number[];
  /** Little-endian raw bytes, as ONNX raw_data stores them; empty for string tensors. */
  bytes: Uint8Array;
  /** The values of a string tensor (dtype 'string'), which has no raw byte form. */
  strings?: string[];
}

/** Reads a serialized TensorProto (the conformance data's test_data_set_N/input_K.pb and output_K.pb). */
export function readTensorFile(path: string): TensorFile {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    fail(`tensor file '${path}' does not exist`);
  }
  if (!stat.isFile()) fail(`tensor path '${path}' is not a file`);
  const bytes = readFileSync(path);
  let tensor: TensorProto;
  try {
    tensor = onnxTypes().TensorProto.decode(bytes) as unknown as TensorProto;
  } catch (error) {
    throw new MemoriaNovaError(
      `'${path}' is not a valid ONNX tensor (corrupt or truncated protobuf: ${(error as Error).message})`,
      'invalid-model',
    );
  }
  if (tensor.data_type === 0) fail(`'${path}' is not an ONNX tensor: it has no data_type`, 'invalid-model');
  const what = `tensor '${tensor.name}' in ${path}`;
  if (tensor.data_type === dtypeToOnnx('string')) return stringTensor(tensor, what);
  const weight = weightFromTensorProto(tensor, what, { baseDir: dirname(resolve(path)) });
  return { name: weight.name, dtype: weight.dtype, shape: weight.shape, bytes: weightBytes(weight) };
}

function stringTensor(tensor: TensorProto, what: string): TensorFile {
  const shape = tensorShape(tensor.dims, what);
  const count = elementCount(shape);
  if (tensor.string_data.length !== count)
    fail(`${what} has ${tensor.string_data.length} strings, expected ${count} for shape [${shape.join(', ')}]`, 'invalid-model');
  const utf8 = new TextDecoder();
  return {
    name: tensor.name,
    dtype: 'string',
    shape,
    bytes: new Uint8Array(0),
    strings: tensor.string_data.map((s) => utf8.decode(asBytes(s))),
  };
}
