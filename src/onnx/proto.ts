import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import type { Long } from 'protobufjs';

/**
 * The ONNX protobuf schema (src/onnx/schema/onnx.proto), loaded by protobufjs once, on first use, with the
 * schema's own snake_case field names. The interfaces below describe the decoded messages as protobufjs
 * presents them: unset scalars read as their defaults, unset repeated fields as empty arrays, and 64-bit
 * integers as `Long` (or plain numbers when a caller builds a message by hand).
 */

export type Int64 = number | Long;

/** A bytes field: a Uint8Array when present, protobufjs's shared empty array when unset. */
export type ProtoBytes = Uint8Array | number[];

export function asBytes(field: ProtoBytes): Uint8Array {
  return field instanceof Uint8Array ? new Uint8Array(field.buffer, field.byteOffset, field.byteLength) : Uint8Array.from(field);
}

export interface StringStringEntryProto {
  key: string;
  value: string;
}

export interface TensorProto {
  dims: Int64[];
  data_type: number;
  segment?: { begin: Int64; end: Int64 } | null;
  float_data: number[];
  int32_data: number[];
  string_data: ProtoBytes[];
  int64_data: Int64[];
  name: string;
  doc_string: string;
  raw_data: ProtoBytes;
  external_data: StringStringEntryProto[];
  data_location: number;
  double_data: number[];
  uint64_data: Int64[];
}

export interface SparseTensorProto {
  values?: TensorProto | null;
  indices?: TensorProto | null;
  dims: Int64[];
}

export interface DimensionProto {
  dim_value?: Int64 | null;
  dim_param?: string | null;
  value?: 'dim_value' | 'dim_param';
}

export interface TypeProto {
  tensor_type?: { elem_type: number; shape?: { dim: DimensionProto[] } | null } | null;
  sparse_tensor_type?: { elem_type: number; shape?: { dim: DimensionProto[] } | null } | null;
  sequence_type?: object | null;
  map_type?: object | null;
  optional_type?: object | null;
  opaque_type?: object | null;
  value?: string;
}

export interface ValueInfoProto {
  name: string;
  type?: TypeProto | null;
}

export interface AttributeProto {
  name: string;
  ref_attr_name: string;
  type: number;
  f: number;
  i: Int64;
  s: ProtoBytes;
  t?: TensorProto | null;
  g?: GraphProto | null;
  sparse_tensor?: SparseTensorProto | null;
  tp?: TypeProto | null;
  floats: number[];
  ints: Int64[];
  strings: ProtoBytes[];
  tensors: TensorProto[];
  graphs: GraphProto[];
  sparse_tensors: SparseTensorProto[];
  type_protos: TypeProto[];
}

export interface NodeProto {
  input: string[];
  output: string[];
  name: string;
  op_type: string;
  domain: string;
  overload: string;
  attribute: AttributeProto[];
}

export interface FunctionProto {
  name: string;
  domain: string;
  overload: string;
  input: string[];
  output: string[];
  /** Attribute parameters without defaults. */
  attribute: string[];
  /** Attribute parameters with defaults. */
  attribute_proto: AttributeProto[];
  node: NodeProto[];
}

export interface GraphProto {
  node: NodeProto[];
  name: string;
  initializer: TensorProto[];
  sparse_initializer: SparseTensorProto[];
  input: ValueInfoProto[];
  output: ValueInfoProto[];
  value_info: ValueInfoProto[];
}

export interface OperatorSetIdProto {
  domain: string;
  version: Int64;
}

export interface ModelProto {
  ir_version: Int64;
  opset_import: OperatorSetIdProto[];
  producer_name: string;
  producer_version: string;
  graph?: GraphProto | null;
  functions: FunctionProto[];
}

/** AttributeProto.AttributeType codes. */
export const ATTRIBUTE_TYPE = {
  UNDEFINED: 0,
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
  TENSORS: 9,
  GRAPHS: 10,
  SPARSE_TENSOR: 11,
  SPARSE_TENSORS: 12,
  TYPE_PROTO: 13,
  TYPE_PROTOS: 14,
} as const;

/** TensorProto.DataLocation.EXTERNAL. */
export const DATA_LOCATION_EXTERNAL = 1;

export interface OnnxTypes {
  ModelProto: protobuf.Type;
  GraphProto: protobuf.Type;
  TensorProto: protobuf.Type;
  NodeProto: protobuf.Type;
}

let loaded: OnnxTypes | undefined;

export function onnxTypes(): OnnxTypes {
  if (loaded === undefined) {
    const root = new protobuf.Root().loadSync(fileURLToPath(new URL('./schema/onnx.proto', import.meta.url)), { keepCase: true });
    loaded = {
      ModelProto: root.lookupType('onnx.ModelProto'),
      GraphProto: root.lookupType('onnx.GraphProto'),
      TensorProto: root.lookupType('onnx.TensorProto'),
      NodeProto: root.lookupType('onnx.NodeProto'),
    };
  }
  return loaded;
}
