import type { DType } from './dtype.ts';
import type { Attribute, Dim, Graph, Node, Weight, WeightData } from './graph.ts';

export type AttributeInput = number | string | number[] | string[] | Attribute;

/** Float-valued attributes of the default domain; every other plain number is an int attribute. */
const FLOAT_ATTRIBUTES = new Set([
  'alpha',
  'beta',
  'epsilon',
  'momentum',
  'gamma',
  'bias',
  'lambd',
  'min',
  'max',
  'ratio',
  'value_float',
  'scale',
]);

function toAttribute(key: string, value: AttributeInput): Attribute {
  if (typeof value === 'number') {
    return FLOAT_ATTRIBUTES.has(key) || !Number.isInteger(value) ? { type: 'float', value } : { type: 'int', value };
  }
  if (typeof value === 'string') return { type: 'string', value };
  if (Array.isArray(value)) {
    if (value.length > 0 && typeof value[0] === 'string') return { type: 'strings', value: value as string[] };
    const numbers = value as number[];
    return FLOAT_ATTRIBUTES.has(key) || numbers.some((n) => !Number.isInteger(n))
      ? { type: 'floats', value: numbers }
      : { type: 'ints', value: numbers };
  }
  return value;
}

/**
 * Builds a Graph in code: the model zoo and the tests use it. Names are made unique with a running counter
 * so helper functions can be called repeatedly with the same prefix.
 */
export class GraphBuilder {
  private readonly graph: Graph;
  private readonly used = new Set<string>();
  private seed: number;

  constructor(name: string, options: { opset?: number; seed?: number } = {}) {
    this.graph = {
      name,
      opset: options.opset ?? 17,
      inputs: [],
      outputs: [],
      initializers: new Map(),
      nodes: [],
      valueInfo: new Map(),
      producer: 'memorianova',
    };
    this.seed = options.seed ?? 1;
  }

  /** A fresh name: `base` itself the first time, then `base_1`, `base_2`, ... */
  unique(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  input(name: string, dtype: DType, shape: Dim[]): string {
    const unique = this.unique(name);
    this.graph.inputs.push({ name: unique, dtype, shape });
    return unique;
  }

  /** A weight with seeded uniform random values in ±bound (bound defaults to 1/sqrt(fan-in), PyTorch-like). */
  weight(name: string, shape: number[], options: { dtype?: DType; bound?: number; data?: WeightData } = {}): string {
    const unique = this.unique(name);
    const fanIn = shape.length > 1 ? shape.slice(1).reduce((a, b) => a * b, 1) : (shape[0] ?? 1);
    const bound = options.bound ?? 1 / Math.sqrt(Math.max(1, fanIn));
    const data = options.data ?? { kind: 'random', seed: this.seed++, low: -bound, high: bound };
    const weight: Weight = { name: unique, dtype: options.dtype ?? 'float32', shape, data };
    this.graph.initializers.set(unique, weight);
    return unique;
  }

  /** A weight whose elements all equal `value`. */
  fill(name: string, shape: number[], value: number, dtype: DType = 'float32'): string {
    return this.weight(name, shape, { dtype, data: { kind: 'fill', value } });
  }

  /** A small int64 constant (shapes, axes, indices) stored inline. */
  int64(name: string, values: number[]): string {
    const bytes = new Uint8Array(values.length * 8);
    const view = new DataView(bytes.buffer);
    values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
    return this.weight(name, [values.length], { dtype: 'int64', data: { kind: 'inline', bytes } });
  }

  /** A float32 constant stored inline (a scalar when shape is []). */
  float32(name: string, values: number[], shape: number[] = [values.length]): string {
    const bytes = new Uint8Array(new Float32Array(values).buffer);
    return this.weight(name, shape, { dtype: 'float32', data: { kind: 'inline', bytes } });
  }

  /** Adds a node and returns its output names (one unless `outputs` says more). */
  node(
    opType: string,
    inputs: string[],
    attributes: Record<string, AttributeInput> = {},
    options: { name?: string; outputs?: number; domain?: string } = {},
  ): string[] {
    const name = this.unique(options.name ?? opType.toLowerCase());
    const count = options.outputs ?? 1;
    const outputs = Array.from({ length: count }, (_, i) => this.unique(count === 1 ? `${name}_out` : `${name}_out${i}`));
    const attrs: Record<string, Attribute> = {};
    for (const [key, value] of Object.entries(attributes)) attrs[key] = toAttribute(key, value);
    const node: Node = { name, opType, domain: options.domain ?? '', inputs, outputs, attributes: attrs };
    this.graph.nodes.push(node);
    return outputs;
  }

  /** Adds a single-output node and returns its output name. */
  op(opType: string, inputs: string[], attributes: Record<string, AttributeInput> = {}, name?: string): string {
    return this.node(opType, inputs, attributes, name === undefined ? {} : { name })[0]!;
  }

  output(tensor: string, dtype: DType = 'float32', shape?: Dim[]): void {
    this.graph.outputs.push(shape === undefined ? { name: tensor, dtype } : { name: tensor, dtype, shape });
  }

  build(): Graph {
    return this.graph;
  }
}
