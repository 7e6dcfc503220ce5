import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fail, MemoriaNovaError } from '../errors.ts';
import type { Attribute, Dim, Graph, Node, Subgraph, ValueInfo, Weight } from '../ir/graph.ts';
import { validateGraph } from '../ir/validate.ts';
import { inlineFunctions } from './functions.ts';
import { exactInt, looseInt } from './int64.ts';
import { count, countGraphNodes, importLimits, overLimit, type ImportLimits } from './limits.ts';
import {
  asBytes,
  ATTRIBUTE_TYPE,
  onnxTypes,
  type AttributeProto,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TypeProto,
  type ValueInfoProto,
} from './proto.ts';
import { tensorDType, weightFromSparseProto, weightFromTensorProto, type TensorContext } from './tensor-proto.ts';

const utf8 = new TextDecoder();

/** Reads an .onnx file into the IR; external data is looked for next to it. */
export function readModelFile(path: string, limits: Partial<ImportLimits> = {}): Graph {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    fail(`model file '${path}' does not exist`);
  }
  if (!stat.isFile()) fail(`model path '${path}' is not a file`);
  let bytes: Uint8Array;
  try {
    const buffer = readFileSync(path);
    // Decoded from a plain Uint8Array, every bytes field (also inside sub-graphs) is a plain view too.
    bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  } catch (error) {
    fail(`cannot read model file '${path}': ${(error as Error).message}`);
  }
  return readModelBytes(bytes, dirname(resolve(path)), path, limits);
}

/**
 * Decodes a serialized ModelProto into the IR and validates the graph. `baseDir` is the folder external-data
 * locations are relative to; `label` names the model in error messages; `limits` override DEFAULT_IMPORT_LIMITS.
 */
export function readModelBytes(bytes: Uint8Array, baseDir: string, label = 'model', limits: Partial<ImportLimits> = {}): Graph {
  if (bytes.length === 0) fail(`'${label}' is empty, not an ONNX model`, 'invalid-model');
  const bounds = importLimits(limits);
  const nodes = countGraphNodes(bytes);
  if (nodes !== undefined && nodes > bounds.maxNodes)
    fail(`'${label}' has ${nodes} nodes, ${overLimit(bounds, 'maxNodes')}`, 'invalid-model');
  const model = decodeModel(bytes, label);
  const graph = importModel(model, label, { baseDir, fileSizes: new Map(), limits: bounds, declared: { total: 0, sparse: 0 } });
  validateGraph(graph);
  return graph;
}

function decodeModel(bytes: Uint8Array, label: string): ModelProto {
  try {
    return onnxTypes().ModelProto.decode(bytes) as unknown as ModelProto;
  } catch (error) {
    // protobufjs reports corrupt input as plain Errors/RangeErrors ("index out of range", "invalid wire type").
    throw new MemoriaNovaError(`'${label}' is not a valid ONNX model (corrupt or truncated protobuf: ${oneLine(error)})`, 'invalid-model');
  }
}

function oneLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}

function importModel(model: ModelProto, label: string, context: TensorContext): Graph {
  const irVersion = looseInt(model.ir_version);
  if (!model.graph || !(irVersion >= 1)) {
    fail(`'${label}' is not an ONNX model: it has no ${model.graph ? 'ir_version' : 'graph'}`, 'invalid-model');
  }
  let opset: number | undefined;
  const opsetImports: Record<string, number> = {};
  for (const entry of model.opset_import) {
    const version = exactInt(entry.version, `the opset version of domain '${entry.domain}'`);
    if (entry.domain === '' || entry.domain === 'ai.onnx') opset = version;
    else opsetImports[entry.domain] = version;
  }
  if (opset === undefined || opset < 1) {
    const others = Object.keys(opsetImports);
    fail(
      `'${label}' imports no opset of the default ONNX domain${others.length > 0 ? ` (only ${others.join(', ')})` : ''}`,
      'invalid-model',
    );
  }
  const importer = new GraphImporter(context);
  const graph = importer.graph(model.graph, inlineFunctions(model.graph.node, model.functions, context.limits), opset);
  if (Object.keys(opsetImports).length > 0) graph.opsetImports = opsetImports;
  if (model.producer_name !== '') graph.producer = model.producer_name;
  return graph;
}

class GraphImporter {
  /** Numbers the dimensions a file leaves without value or name: '?0', '?1', ... */
  private unknownDims = 0;

  constructor(private readonly context: TensorContext) {}

  /** `nodes`: the graph's nodes with model-local function calls already expanded. */
  graph(proto: GraphProto, nodes: NodeProto[], opset: number): Graph {
    const initializers = new Map<string, Weight>();
    const addWeight = (weight: Weight) => {
      if (weight.name === '') fail('an initializer has no name', 'invalid-model');
      if (initializers.has(weight.name)) fail(`two initializers are named '${weight.name}'`, 'invalid-model');
      initializers.set(weight.name, weight);
    };
    for (const tensor of proto.initializer) addWeight(weightFromTensorProto(tensor, `initializer '${tensor.name}'`, this.context));
    for (const sparse of proto.sparse_initializer) addWeight(weightFromSparseProto(sparse, this.context));

    const inputs = proto.input.filter((v) => !initializers.has(v.name)).map((v) => this.valueInfo(v, 'graph input'));
    const outputs = proto.output.map((v) => this.valueInfo(v, 'graph output'));
    const valueInfo = new Map<string, ValueInfo>();
    for (const v of proto.value_info) {
      // Intermediate annotations are hints: ones that are not plain typed tensors are dropped, not fatal.
      if (v.type?.tensor_type && v.type.tensor_type.elem_type !== 0) valueInfo.set(v.name, this.valueInfo(v, 'value_info entry'));
    }
    const limits = this.context.limits ?? importLimits();
    const branches = new Map<GraphProto, number>();
    const inlinable = nodes.reduce((sum, node) => sum + branchNodes(node, limits, 1, branches), 0);
    if (nodes.length + inlinable > limits.maxNodes) {
      fail(
        `the graph has ${count(nodes.length)} nodes and its If branches ${count(inlinable)} more, ${overLimit(limits, 'maxNodes')}`,
        'invalid-model',
      );
    }
    const names = new Set<string>();
    return {
      name: proto.name,
      opset,
      inputs,
      outputs,
      initializers,
      nodes: nodes.map((node, index) => this.node(node, index, names)),
      valueInfo,
    };
  }

  private valueInfo(proto: ValueInfoProto, role: string): ValueInfo {
    const what = `${role} '${proto.name}'`;
    if (proto.name === '') fail(`a ${role} has no name`, 'invalid-model');
    const tensor = tensorType(proto.type, what);
    const dtype = tensorDType(tensor.elem_type, what);
    if (!tensor.shape) return { name: proto.name, dtype };
    const shape: Dim[] = tensor.shape.dim.map((d, i) => {
      if (d.value === 'dim_value' && d.dim_value !== null && d.dim_value !== undefined) {
        const n = exactInt(d.dim_value, `dimension ${i} of ${what}`);
        if (n >= 0) return n;
      } else if (d.value === 'dim_param' && d.dim_param) {
        return d.dim_param;
      }
      return `?${this.unknownDims++}`;
    });
    return { name: proto.name, dtype, shape };
  }

  /** An If branch in IR form (`Attribute.body`); `depth` is how deep it nests in If branches (1: a main-graph If's). */
  private subgraph(proto: GraphProto, depth: number): Subgraph {
    const names = new Set<string>();
    const what = (kind: string, name: string) => `${kind} '${name}' of sub-graph '${proto.name}'`;
    return {
      nodes: proto.node.map((node, index) => this.node(node, index, names, depth)),
      initializers: [
        ...proto.initializer.map((t) => weightFromTensorProto(t, what('initializer', t.name), this.context)),
        ...proto.sparse_initializer.map((t) => weightFromSparseProto(t, this.context)),
      ],
      outputs: proto.output.map((o) => o.name),
    };
  }

  private node(proto: NodeProto, index: number, names: Set<string>, depth = 0): Node {
    if (proto.op_type === '') fail(`node #${index}${proto.name ? ` '${proto.name}'` : ''} has no op_type`, 'invalid-model');
    // Node names are optional and, in practice, not always unique; the IR needs unique ones.
    const base = proto.name === '' ? `${proto.op_type}_${index}` : proto.name;
    let name = base;
    for (let k = 1; names.has(name); k++) name = `${base}_${k}`;
    names.add(name);
    const attributes: Record<string, Attribute> = {};
    for (const attribute of proto.attribute) {
      if (Object.hasOwn(attributes, attribute.name))
        fail(`node '${name}' (${proto.op_type}) has attribute '${attribute.name}' twice`, 'invalid-model');
      // defineProperty, not assignment: a file may name an attribute '__proto__'.
      Object.defineProperty(attributes, attribute.name, {
        value: this.attribute(attribute, `attribute '${attribute.name}' of node '${name}' (${proto.op_type})`),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    if (proto.op_type === 'If' && (proto.domain === '' || proto.domain === 'ai.onnx')) {
      for (const key of ['then_branch', 'else_branch']) {
        const branch = attributes[key];
        if (branch?.type === 'graph') branch.body = this.subgraph(branch.value as GraphProto, depth + 1);
      }
    }
    return {
      name,
      opType: proto.op_type,
      domain: proto.domain === 'ai.onnx' ? '' : proto.domain,
      inputs: [...proto.input],
      outputs: [...proto.output],
      attributes,
    };
  }

  private attribute(proto: AttributeProto, what: string): Attribute {
    if (proto.name === '') fail(`${what.replace("attribute ''", 'an attribute')} has no name`, 'invalid-model');
    if (proto.ref_attr_name !== '')
      fail(`${what} refers to function attribute '${proto.ref_attr_name}', which is only valid inside a function`, 'invalid-model');
    const tensor = (t: typeof proto.t, i?: number) => weightFromTensorProto(t!, i === undefined ? what : `${what} [${i}]`, this.context);
    switch (proto.type) {
      case ATTRIBUTE_TYPE.FLOAT:
        return { type: 'float', value: proto.f };
      case ATTRIBUTE_TYPE.INT:
        return { type: 'int', value: looseInt(proto.i) };
      case ATTRIBUTE_TYPE.STRING:
        return { type: 'string', value: utf8.decode(asBytes(proto.s)) };
      case ATTRIBUTE_TYPE.FLOATS:
        return { type: 'floats', value: [...proto.floats] };
      case ATTRIBUTE_TYPE.INTS:
        return { type: 'ints', value: proto.ints.map(looseInt) };
      case ATTRIBUTE_TYPE.STRINGS:
        return { type: 'strings', value: proto.strings.map((s) => utf8.decode(asBytes(s))) };
      case ATTRIBUTE_TYPE.TENSOR:
        if (!proto.t) fail(`${what} is a tensor attribute without a tensor`, 'invalid-model');
        return { type: 'tensor', value: tensor(proto.t) };
      case ATTRIBUTE_TYPE.TENSORS:
        return { type: 'tensors', value: proto.tensors.map((t, i) => tensor(t, i)) };
      case ATTRIBUTE_TYPE.GRAPH:
        if (!proto.g) fail(`${what} is a graph attribute without a graph`, 'invalid-model');
        return { type: 'graph', value: proto.g };
      case ATTRIBUTE_TYPE.GRAPHS:
        return { type: 'graphs', value: [...proto.graphs] };
      case ATTRIBUTE_TYPE.SPARSE_TENSOR:
      case ATTRIBUTE_TYPE.SPARSE_TENSORS:
        fail(`${what} is a sparse tensor, which is not supported in attributes`, 'invalid-model');
      case ATTRIBUTE_TYPE.TYPE_PROTO:
      case ATTRIBUTE_TYPE.TYPE_PROTOS:
        fail(`${what} is a type (TYPE_PROTO), which is not supported`, 'invalid-model');
      default:
        fail(`${what} has attribute type ${proto.type}, which is not an ONNX attribute type`, 'invalid-model');
    }
  }
}

/**
 * Nodes of the If branches under `node` (nested ones included): what inlining the branches can add to the
 * graph. Memoized per branch (function expansion shares one branch between its copies); branches nesting past
 * maxFunctionDepth are refused.
 */
function branchNodes(node: NodeProto, limits: ImportLimits, depth: number, memo: Map<GraphProto, number>): number {
  if (node.op_type !== 'If' || (node.domain !== '' && node.domain !== 'ai.onnx')) return 0;
  let total = 0;
  for (const attribute of node.attribute) {
    const branch = attribute.type === ATTRIBUTE_TYPE.GRAPH ? attribute.g : undefined;
    if (!branch || (attribute.name !== 'then_branch' && attribute.name !== 'else_branch')) continue;
    let nodes = memo.get(branch);
    if (nodes === undefined) {
      if (depth > limits.maxFunctionDepth)
        fail(`If branches nest ${depth} deep at node '${node.name}', ${overLimit(limits, 'maxFunctionDepth')}`, 'invalid-model');
      nodes = branch.node.reduce((sum, inner) => sum + 1 + branchNodes(inner, limits, depth + 1, memo), 0);
      memo.set(branch, nodes);
    }
    total += nodes;
  }
  return total;
}

function tensorType(type: TypeProto | null | undefined, what: string): NonNullable<TypeProto['tensor_type']> {
  if (!type || !type.value) fail(`${what} has no type`, 'invalid-model');
  if (!type.tensor_type) {
    const kind = type.value.replace(/_type$/, '').replace('_', ' ');
    fail(
      `${what} is ${/^[aeiou]/.test(kind) ? 'an' : 'a'} ${kind}; only tensors are supported as graph inputs and outputs`,
      'invalid-model',
    );
  }
  return type.tensor_type;
}
