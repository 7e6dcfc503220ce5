import { onnxTypes } from './proto.ts';

/**
 * Test helpers: hand-made ONNX protobufs, written as plain objects in the schema's field names, so tests
 * can feed the reader exactly the encodings real exporters produce (typed data fields, unnamed nodes...).
 */
export function encodeModel(model: object): Uint8Array {
  return onnxTypes().ModelProto.encode(model).finish();
}

export function encodeTensor(tensor: object): Uint8Array {
  return onnxTypes().TensorProto.encode(tensor).finish();
}

export const FLOAT = 1;
export const INT64 = 7;

export function tensorValueInfo(name: string, elemType: number, dims: (number | string | null)[]): object {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: elemType,
        shape: { dim: dims.map((d) => (d === null ? {} : typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
      },
    },
  };
}

/** A minimal valid model: y = Relu(x) over float32[2, 3]; `graph` fields override the defaults. */
export function tinyModel(graph: object = {}, model: object = {}): object {
  return {
    ir_version: 8,
    opset_import: [{ domain: '', version: 17 }],
    producer_name: 'test',
    graph: {
      name: 'tiny',
      node: [{ op_type: 'Relu', input: ['x'], output: ['y'], name: 'relu' }],
      input: [tensorValueInfo('x', FLOAT, [2, 3])],
      output: [tensorValueInfo('y', FLOAT, [2, 3])],
      ...graph,
    },
    ...model,
  };
}
