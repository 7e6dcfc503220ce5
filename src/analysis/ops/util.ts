import { fail } from '../../errors.ts';
import type { Node } from '../../ir/graph.ts';
import { elementCount } from '../../ir/dtype.ts';
import type { OpContext, OutputType, TensorMeta } from './types.ts';

/** A list for an error message, `[a,b,…]`, cut to about 100 characters: a file's list may have millions of entries. */
export function list(values: readonly (number | string | undefined)[]): string {
  const text = values.slice(0, 50).join(',');
  return `[${values.length > 50 || text.length > 100 ? `${text.slice(0, 100)}…` : text}]`;
}

export function describe(node: Node): string {
  return `${node.opType} node '${node.name}'`;
}

/** numpy (multidirectional) broadcasting of any number of shapes. */
export function broadcastShapes(node: Node, shapes: number[][]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let dim = 1;
    for (const shape of shapes) {
      const d = shape[shape.length - rank + i] ?? 1;
      if (d === 1) continue;
      if (dim !== 1 && dim !== d) {
        fail(`${describe(node)}: shapes ${shapes.map((s) => `${list(s)}`).join(' and ')} do not broadcast`, 'invalid-model');
      }
      dim = d;
    }
    // A zero-sized dimension broadcasts against 1 only.
    if (shapes.some((s) => s[s.length - rank + i] === 0)) dim = 0;
    out.push(dim);
  }
  return out;
}

/** An axis in [-rank, rank) made non-negative. */
export function normalizeAxis(node: Node, axis: number, rank: number): number {
  if (axis < -rank || axis >= rank) fail(`${describe(node)}: axis ${axis} is out of range for rank ${rank}`, 'invalid-model');
  return axis < 0 ? axis + rank : axis;
}

export function elements(outputs: OutputType[], index = 0): number {
  return elementCount(outputs[index]!.shape);
}

/** Output 0 keeps input 0's dtype and shape. */
export function sameAsInput(ctx: OpContext): OutputType[] {
  const x = ctx.input(0);
  return [{ dtype: x.dtype, shape: [...x.shape] }];
}

/** Row-major strides of a shape. */
export function strides(shape: number[]): number[] {
  const out = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) out[i] = out[i + 1]! * shape[i + 1]!;
  return out;
}

/** Reads element `index` of the broadcast output from a tensor of shape `shape` (values row-major). */
export function broadcastIndexer(shape: number[], outShape: number[]): (flat: number) => number {
  const rank = outShape.length;
  const outStrides = strides(outShape);
  const padded = [...new Array<number>(rank - shape.length).fill(1), ...shape];
  const inStrides = strides(padded);
  return (flat) => {
    let offset = 0;
    for (let i = 0; i < rank; i++) {
      const coord = Math.floor(flat / outStrides[i]!) % outShape[i]!;
      if (padded[i] !== 1) offset += coord * inStrides[i]!;
    }
    return offset;
  };
}

export function product(values: number[]): number {
  return values.reduce((a, b) => a * b, 1);
}

/** Input `index` with a rank in [min, max]; anything else is a clear error naming the node and input. */
export function requireRank(ctx: OpContext, index: number, min: number, max = Infinity): TensorMeta {
  const t = ctx.input(index);
  const rank = t.shape.length;
  if (rank < min || rank > max) {
    const want = max === min ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
    fail(`${describe(ctx.node)}: input ${index} '${t.name}' has rank ${rank}, expected ${want}`, 'invalid-model');
  }
  return t;
}
