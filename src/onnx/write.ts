import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import { fail } from '../errors.ts';
import { dtypeToOnnx, tensorBytes, type DType } from '../ir/dtype.ts';
import type { Attribute, Dim, Graph, Node, ValueInfo, Weight } from '../ir/graph.ts';
import { weightBytes } from '../ir/weights.ts';
import { toLong } from './int64.ts';
import { ATTRIBUTE_TYPE, DATA_LOCATION_EXTERNAL, onnxTypes } from './proto.ts';

export interface WriteOptions {
  /**
   * Where initializer bytes go: 'never' inside the .onnx file, 'always' into `<file>.data` next to it,
   * 'auto' (default) into `<file>.data` only when they total more than AUTO_EXTERNAL_BYTES.
   */
  externalData?: 'auto' | 'always' | 'never';
  /**
   * With external data, weights smaller than this many bytes stay inline (default 0: none). onnxruntime must
   * read small constants such as Reshape shapes during shape inference and cannot from external data; onnx's
   * own `convert_model_to_external_data` keeps tensors under 1024 bytes inline for that reason.
   */
  inlineBelowBytes?: number;
}

/** Weights above this total go to external data under 'auto': protobuf refuses messages over 2 GB. */
export const AUTO_EXTERNAL_BYTES = 1.5e9;
const PROTOBUF_LIMIT = 2 ** 31 - 1;
/** External tensors start at multiples of this, as ONNX recommends for memory mapping. */
const EXTERNAL_ALIGNMENT = 4096;

const utf8 = new TextEncoder();

/** Writes a graph as an ONNX model file, streaming the weights one at a time. */
export function writeModelFile(graph: Graph, path: string, options: WriteOptions = {}): void {
  const mode = options.externalData ?? 'auto';
  const external = mode === 'always' || (mode === 'auto' && totalWeightBytes(graph) > AUTO_EXTERNAL_BYTES);
  const dataPath = `${path}.data`;
  // Both files are written under temporary names and renamed at the end: the graph's own external weights
  // may live in the very files being replaced.
  const tmp = `${path}.tmp-${process.pid}`;
  const tmpData = `${dataPath}.tmp-${process.pid}`;
  try {
    const locations = external ? writeDataFile(graph, tmpData, basename(dataPath), options.inlineBelowBytes ?? 0) : undefined;
    withFile(tmp, (fd) => {
      for (const chunk of modelChunks(graph, locations)) writeAll(fd, chunk);
    });
    if (external) renameSync(tmpData, dataPath);
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    rmSync(tmpData, { force: true });
    // File-system refusals (no such folder, permissions, a full disk) are a bad output path, not a bug.
    if (error instanceof Error && 'code' in error && typeof error.code === 'string' && error.code.startsWith('E')) {
      fail(`cannot write '${path}': ${error.message}`, 'invalid-input');
    }
    throw error;
  }
}

function withFile(path: string, write: (fd: number) => void): void {
  const fd = openSync(path, 'w');
  try {
    write(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes all of `bytes` at `position` (default: the current end), in pieces below the 2 GB write limit. */
function writeAll(fd: number, bytes: Uint8Array, position?: number): void {
  let done = 0;
  while (done < bytes.length) {
    const n = writeSync(fd, bytes, done, Math.min(bytes.length - done, 1 << 30), position === undefined ? null : position + done);
    done += n;
  }
}

/** A small graph as the bytes of one ONNX model, weights inline. */
export function writeModelBytes(graph: Graph): Uint8Array {
  const chunks = [...modelChunks(graph, undefined)];
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

export function totalWeightBytes(graph: Graph): number {
  let total = 0;
  for (const w of graph.initializers.values()) total += tensorBytes(w.dtype, w.shape);
  return total;
}

interface ExternalLocation {
  location: string;
  offset: number;
  length: number;
}

function writeDataFile(graph: Graph, path: string, location: string, inlineBelowBytes: number): Map<string, ExternalLocation> {
  const locations = new Map<string, ExternalLocation>();
  withFile(path, (fd) => {
    let offset = 0;
    for (const weight of graph.initializers.values()) {
      if (tensorBytes(weight.dtype, weight.shape) < inlineBelowBytes) continue;
      offset = Math.ceil(offset / EXTERNAL_ALIGNMENT) * EXTERNAL_ALIGNMENT;
      const bytes = checkedBytes(weight);
      writeAll(fd, bytes, offset);
      locations.set(weight.name, { location, offset, length: bytes.length });
      offset += bytes.length;
    }
  });
  return locations;
}

function checkedBytes(weight: Weight): Uint8Array {
  if (weight.dtype === 'string') fail(`weight '${weight.name}' is a string tensor, which cannot be written`, 'invalid-input');
  const bytes = weightBytes(weight);
  const expected = tensorBytes(weight.dtype, weight.shape);
  if (bytes.length !== expected) {
    fail(
      `weight '${weight.name}' has ${bytes.length} bytes, expected ${expected} for ${weight.dtype}[${weight.shape.join(', ')}]`,
      'invalid-input',
    );
  }
  return bytes;
}

/**
 * The model as a sequence of byte chunks. Protobuf lets a message's fields come in any order, so the graph
 * is written as its small fields first and then one initializer at a time: only the lengths must be known
 * up front, and they follow from dtype and shape without generating any weight.
 */
function* modelChunks(graph: Graph, external: Map<string, ExternalLocation> | undefined): Generator<Uint8Array> {
  const types = onnxTypes();
  const head = types.ModelProto.encode({
    ir_version: toLong(irVersion(graph)),
    opset_import: opsetImports(graph),
    producer_name: graph.producer ?? 'memorianova',
  }).finish();
  const body = types.GraphProto.encode({
    name: graph.name,
    node: graph.nodes.map(nodeProto),
    input: graph.inputs.map(valueInfoProto),
    output: graph.outputs.map(valueInfoProto),
    value_info: [...graph.valueInfo.values()].map(valueInfoProto),
  }).finish();
  const tensors = [...graph.initializers.values()].map((weight) => {
    const location = external?.get(weight.name);
    const header = types.TensorProto.encode(tensorHeader(weight, location)).finish();
    const dataLength = location === undefined ? tensorBytes(weight.dtype, weight.shape) : 0;
    const rawField = dataLength > 0 ? 1 + varintSize(dataLength) + dataLength : 0;
    return { weight, header, dataLength, length: header.length + rawField };
  });
  const graphLength = body.length + tensors.reduce((n, t) => n + 1 + varintSize(t.length) + t.length, 0);
  const total = head.length + 1 + varintSize(graphLength) + graphLength;
  if (total > PROTOBUF_LIMIT) {
    fail(`model '${graph.name}' would be ${total} bytes, over protobuf's 2 GB limit; write its weights as external data`, 'invalid-input');
  }
  yield head;
  yield fieldHeader(7, graphLength);
  yield body;
  for (const t of tensors) {
    yield fieldHeader(5, t.length);
    yield t.header;
    if (t.dataLength > 0) {
      yield fieldHeader(9, t.dataLength);
      yield checkedBytes(t.weight);
    }
  }
}

/** ONNX IR version: the lowest one that has the graph's opset and data types (and ONNX Runtime reads). */
function irVersion(graph: Graph): number {
  let ir = graph.opset >= 23 ? 11 : graph.opset >= 21 ? 10 : graph.opset >= 19 ? 9 : 8;
  const need = (dtype: DType) => {
    if (dtype === 'float4e2m1') ir = Math.max(ir, 11);
    else if (dtype === 'uint4' || dtype === 'int4') ir = Math.max(ir, 10);
    else if (dtype.startsWith('float8')) ir = Math.max(ir, 9);
  };
  for (const w of graph.initializers.values()) need(w.dtype);
  for (const v of [...graph.inputs, ...graph.outputs, ...graph.valueInfo.values()]) need(v.dtype);
  return ir;
}

function opsetImports(graph: Graph): { domain: string; version: ReturnType<typeof toLong> }[] {
  const versions = new Map<string, number>([['', graph.opset], ...Object.entries(graph.opsetImports ?? {})]);
  // A custom domain the graph uses without a declared opset gets version 1, the first of any domain.
  for (const node of graph.nodes) if (!versions.has(node.domain)) versions.set(node.domain, 1);
  return [...versions].map(([domain, version]) => ({ domain, version: toLong(version) }));
}

function valueInfoProto(info: ValueInfo): object {
  const tensorType: Record<string, unknown> = { elem_type: dtypeToOnnx(info.dtype) };
  if (info.shape !== undefined) tensorType.shape = { dim: info.shape.map(dimProto) };
  return { name: info.name, type: { tensor_type: tensorType } };
}

/** Numbers are values, names are parameters; importer-made '?<n>' names go back to unknown dimensions. */
function dimProto(dim: Dim): object {
  if (typeof dim === 'number') return { dim_value: toLong(dim) };
  return dim.startsWith('?') ? {} : { dim_param: dim };
}

function tensorHeader(weight: Weight, location: ExternalLocation | undefined): object {
  const header: Record<string, unknown> = {
    name: weight.name,
    data_type: dtypeToOnnx(weight.dtype),
    dims: weight.shape.map(toLong),
  };
  if (location !== undefined) {
    header.data_location = DATA_LOCATION_EXTERNAL;
    header.external_data = [
      { key: 'location', value: location.location },
      { key: 'offset', value: String(location.offset) },
      { key: 'length', value: String(location.length) },
    ];
  }
  return header;
}

function tensorProto(weight: Weight): object {
  return { ...tensorHeader(weight, undefined), raw_data: checkedBytes(weight) };
}

function nodeProto(node: Node): object {
  return {
    name: node.name,
    op_type: node.opType,
    domain: node.domain,
    input: node.inputs,
    output: node.outputs,
    attribute: Object.entries(node.attributes).map(([name, attribute]) => attributeProto(name, attribute)),
  };
}

function attributeProto(name: string, attribute: Attribute): object {
  switch (attribute.type) {
    case 'float':
      return { name, type: ATTRIBUTE_TYPE.FLOAT, f: attribute.value };
    case 'int':
      return { name, type: ATTRIBUTE_TYPE.INT, i: toLong(attribute.value) };
    case 'string':
      return { name, type: ATTRIBUTE_TYPE.STRING, s: utf8.encode(attribute.value) };
    case 'floats':
      return { name, type: ATTRIBUTE_TYPE.FLOATS, floats: attribute.value };
    case 'ints':
      return { name, type: ATTRIBUTE_TYPE.INTS, ints: attribute.value.map(toLong) };
    case 'strings':
      return { name, type: ATTRIBUTE_TYPE.STRINGS, strings: attribute.value.map((s) => utf8.encode(s)) };
    case 'tensor':
      return { name, type: ATTRIBUTE_TYPE.TENSOR, t: tensorProto(attribute.value) };
    case 'tensors':
      return { name, type: ATTRIBUTE_TYPE.TENSORS, tensors: attribute.value.map(tensorProto) };
    case 'graph':
      return { name, type: ATTRIBUTE_TYPE.GRAPH, g: attribute.value };
    case 'graphs':
      return { name, type: ATTRIBUTE_TYPE.GRAPHS, graphs: attribute.value };
  }
}

/** A length-delimited field's tag and length. */
function fieldHeader(field: number, length: number): Uint8Array {
  const out = new Uint8Array(1 + varintSize(length));
  out[0] = (field << 3) | 2;
  writeVarint(out, 1, length);
  return out;
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function writeVarint(out: Uint8Array, at: number, n: number): void {
  while (n >= 128) {
    out[at++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  out[at] = n;
}
