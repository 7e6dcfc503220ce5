import type { FileTensorCounts } from './params.ts';
import type { DType } from './dtype.ts';

/**
 * A dimension before binding: a number, or a symbolic name such as "batch" that a `--dim batch=1` binding or
 * shape inference turns into a number.
 */
export type Dim = number | string;

/** Where a weight's bytes come from. Planning never reads them; export and execution do. */
export type WeightData =
  /** Bytes in the model file itself (raw_data or a typed field, already little-endian raw bytes). */
  | { kind: 'inline'; bytes: Uint8Array }
  /** ONNX external data: a side file relative to the model's folder. */
  | { kind: 'external'; baseDir: string; location: string; offset: number; length: number }
  /** Seeded uniform random values in [low, high): how the built-in zoo makes its weights. */
  | { kind: 'random'; seed: number; low: number; high: number }
  /** Every element equal to `value` (BatchNorm variances, LayerNorm gains and the like). */
  | { kind: 'fill'; value: number };

export interface Weight {
  name: string;
  dtype: DType;
  shape: number[];
  data: WeightData;
}

export type Attribute =
  | { type: 'int'; value: number }
  | { type: 'float'; value: number }
  | { type: 'string'; value: string }
  | { type: 'ints'; value: number[] }
  | { type: 'floats'; value: number[] }
  | { type: 'strings'; value: string[] }
  | { type: 'tensor'; value: Weight }
  | { type: 'tensors'; value: Weight[] }
  /**
   * Sub-graphs (If, Loop, Scan bodies) are kept opaque: planning treats their node as one operator. The ONNX
   * importer stores the decoded GraphProto here and the writer writes it back unchanged. For an If's branches it
   * also gives `body`, the branch in IR form, which analysis inlines when the condition is known.
   */
  | { type: 'graph'; value: unknown; body?: Subgraph }
  | { type: 'graphs'; value: unknown[] };

/**
 * A sub-graph in IR form, with its own tensor and node names: names it reads but neither defines nor lists as
 * initializers are outer-scope tensors. An If branch has no inputs.
 */
export interface Subgraph {
  nodes: Node[];
  initializers: Weight[];
  /** Tensor names, in order: the If's outputs. */
  outputs: string[];
}

export interface Node {
  /** Unique within the graph; importers name unnamed nodes `<opType>_<index>`. */
  name: string;
  opType: string;
  /** '' is the default ONNX domain. */
  domain: string;
  /** Tensor names; '' marks an omitted optional input. */
  inputs: string[];
  outputs: string[];
  attributes: Record<string, Attribute>;
}

export interface ValueInfo {
  name: string;
  dtype: DType;
  /** Undefined when the rank is unknown (an output the file leaves to inference). */
  shape?: Dim[];
}

/**
 * A model graph as imported or built: nodes in the file's order. Graph inputs that are also initializers are
 * weights, not inputs (ONNX IR < 4 lists them in both places; importers drop them from `inputs`).
 */
export interface Graph {
  name: string;
  /** Opset of the default domain. */
  opset: number;
  /** Opsets of the other domains the model imports (domain → version), when there are any. */
  opsetImports?: Record<string, number>;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializers: Map<string, Weight>;
  nodes: Node[];
  /** Shapes the file declares for intermediate tensors (used for opaque operators and as a cross-check). */
  valueInfo: Map<string, ValueInfo>;
  producer?: string;
}

/** The static, fully known description of one tensor after shape inference. */
export interface TensorInfo {
  name: string;
  dtype: DType;
  shape: number[];
  bytes: number;
  kind: 'input' | 'weight' | 'activation';
}

/** Per-operator costs. A multiply-add counts as 2 FLOPs. Definitions: docs/costs.md. */
export interface OpCost {
  flops: number;
  /** Bytes of all inputs the operator reads, weights included. */
  bytesRead: number;
  /** Bytes of all outputs it writes. */
  bytesWritten: number;
  /** Bytes of the weights (initializers and folded constants) among its inputs. */
  weightBytes: number;
}

/**
 * How an operator's outputs relate to its inputs' buffers in the memory model (docs/memory.md):
 * - `alias`: output 0 is a view of input 0 (Reshape, Flatten, Squeeze, Unsqueeze, Identity);
 * - `elementwise`: output 0 may reuse a same-size input that dies here (in place);
 * - `normal`: outputs get fresh buffers.
 */
export type MemoryBehaviour = 'normal' | 'alias' | 'elementwise';

export interface AnalyzedOp {
  node: Node;
  cost: OpCost;
  memory: MemoryBehaviour;
  /** True when the operator is unknown but the file declared its output shapes. */
  opaque: boolean;
}

/**
 * A model after constant folding and shape inference: every tensor static, every operator costed. This is
 * what ordering, partitioning, simulation and runtime consume.
 */
/** The load options that shape a model (zoo sizes, shape bindings): a plan file records them so other commands rebuild the same model. */
export interface ModelOptions {
  batch?: number;
  seqLen?: number;
  layers?: number;
  dims?: Record<string, number>;
  inputs?: Record<string, number[]>;
}

export interface Model {
  name: string;
  /** The options it was loaded with that change its shapes (absent: none). */
  options?: ModelOptions;
  /** The folded graph: shape sub-graphs and Constant nodes are gone, their values became initializers. */
  graph: Graph;
  /** Operators in the graph's (file) order; ops[i].node === graph.nodes[i]. */
  ops: AnalyzedOp[];
  /** Every tensor the operators touch: graph inputs, weights and activations. */
  tensors: Map<string, TensorInfo>;
  /** Elements the source graph declares as initializers and as Constant nodes, before folding. */
  fileTensors: FileTensorCounts;
  warnings: string[];
}
