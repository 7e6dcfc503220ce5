import { Attrs } from '../analysis/ops/attrs.ts';
import type { PartitionContext } from '../partition/context.ts';
import { BROADCAST_OPERATORS, WINDOW_OPERATORS } from '../partition/geometry.ts';
import type { Grid } from './tiles.ts';

/** Operators whose region rule maps the two spatial axes of NCHW independently: windows and the broadcast family. */
const TILEABLE = new Set([...WINDOW_OPERATORS, ...BROADCAST_OPERATORS]);

/**
 * Per position of the order: can the operator belong to a fused tile group (docs/fit.md, "Execution space")? It
 * must be a convolution, a pooling window, an operator of geometry.ts's broadcast family (element-wise,
 * BatchNormalization) or a Concat along channels, with one output, a 4-D NCHW output, every activation input 4-D, and at least one reader or a graph output.
 * Views (Identity, Dropout: alias operators) stay out, so a tile's tensors are never views.
 */
export function tileablePositions(ctx: PartitionContext): boolean[] {
  if (ctx.layout.kind !== 'cnn') return chunkablePositions(ctx);
  return ctx.order.map((_, p) => {
    const op = ctx.model.ops[ctx.opIndex[p]!]!;
    const node = op.node;
    if (node.domain !== '' || node.outputs.length !== 1 || op.memory === 'alias') return false;
    const type = node.opType;
    if (type === 'Concat') {
      const axis = new Attrs(node).int('axis', 0);
      if (axis !== 1 && axis !== -3) return false;
    } else if (!TILEABLE.has(type)) return false;
    const geometry = ctx.geometry[p]!;
    if (geometry.outputShapes[0]!.length !== 4) return false;
    const activations = node.inputs.filter((t) => t !== '' && ctx.model.tensors.get(t)?.kind !== 'weight');
    if (activations.some((t) => ctx.model.tensors.get(t)!.shape.length !== 4)) return false;
    return ctx.consumers[p]![0]!.length > 0 || ctx.isGraphOutput[p]![0]!;
  });
}

/**
 * Per position of a sequence model's order: can the operator belong to a token chunk group (docs/fit.md, "Execution
 * space")? It must be of the standard domain with one output, have a `tokens` split option (the partitioner's region
 * rules split its output along the sequence axis: MatMul, Gemm, element-wise, Softmax, LayerNormalization, Transpose,
 * Reshape…) and at least one reader or be a graph output. Views may join (tiles.ts, viewsFit says where).
 */
export function chunkablePositions(ctx: PartitionContext): boolean[] {
  return ctx.order.map((_, p) => {
    const node = ctx.model.ops[ctx.opIndex[p]!]!.node;
    if (node.domain !== '' || node.outputs.length !== 1) return false;
    if (!ctx.geometry[p]!.options.some((o) => o.dim === 'tokens')) return false;
    return ctx.consumers[p]![0]!.length > 0 || ctx.isGraphOutput[p]![0]!;
  });
}

/** The token grids a group may use: 2 to maxChunks chunks (one chunk is the group run whole plus copies). */
export function chunkSet(maxChunks: number): Grid[] {
  const grids: Grid[] = [];
  for (let chunks = 2; chunks <= maxChunks; chunks++) grids.push({ rows: chunks, cols: 1, kind: 'tokens' });
  return grids;
}

/**
 * The grids a group may use: every rows × cols with 1 ≤ rows, cols ≤ maxGrid but 1 × 1 (running the group whole
 * as one tile is running its operators untiled plus copies into the exits, never better), fewest tiles first.
 */
export function gridSet(maxGrid: number): Array<{ rows: number; cols: number }> {
  const grids: Array<{ rows: number; cols: number }> = [];
  for (let rows = 1; rows <= maxGrid; rows++) for (let cols = 1; cols <= maxGrid; cols++) if (rows * cols > 1) grids.push({ rows, cols });
  return grids.sort((x, y) => x.rows * x.cols - y.rows * y.cols || x.rows - y.rows);
}

/**
 * The `kv-first` order of a sequence model (docs/fit.md, "Execution space"): the given order with, for every MatMul
 * whose second operand is an activation (attention's keys and values), the operators that operand needs and its
 * first operand does not moved, in their order, to just after the last other operator they read from, unless they
 * all run before those of the first operand already. A chunk of the MatMul's rows reads all of its second operand,
 * which this order leaves outside a group ending at the MatMul as a whole tensor instead of recomputing it in every
 * chunk. Null when nothing moves.
 */
export function kvFirstOrder(ctx: PartitionContext): string[] | null {
  const { model } = ctx;
  const producer = new Map<string, string>();
  for (const op of model.ops) for (const t of op.node.outputs) if (t !== '') producer.set(t, op.node.name);
  const byName = new Map(model.ops.map((op) => [op.node.name, op.node]));
  const reads = (name: string) => byName.get(name)!.inputs.flatMap((t) => (t !== '' && producer.has(t) ? [producer.get(t)!] : []));
  const ancestors = (tensor: string): Set<string> => {
    const seen = new Set<string>();
    const start = producer.get(tensor);
    const stack = start === undefined ? [] : [start];
    while (stack.length > 0) {
      const name = stack.pop()!;
      if (seen.has(name)) continue;
      seen.add(name);
      stack.push(...reads(name));
    }
    return seen;
  };
  let order = [...ctx.order];
  let moved = false;
  for (const name of ctx.order) {
    const node = byName.get(name)!;
    if (node.opType !== 'MatMul' || node.domain !== '' || !producer.has(node.inputs[1] ?? '') || !producer.has(node.inputs[0] ?? ''))
      continue;
    const first = ancestors(node.inputs[0]!);
    const second = ancestors(node.inputs[1]!);
    const own = new Set([...second].filter((op) => !first.has(op)));
    const others = [...first].filter((op) => !second.has(op));
    if (own.size === 0 || others.length === 0) continue;
    const position = new Map(order.map((op, p) => [op, p]));
    const earliestOther = Math.min(...others.map((op) => position.get(op)!));
    if ([...own].every((op) => position.get(op)! < earliestOther)) continue;
    let after = -1;
    for (const op of own) for (const dep of reads(op)) if (!own.has(dep)) after = Math.max(after, position.get(dep)!);
    const block = order.filter((op) => own.has(op));
    const rest = order.filter((op) => !own.has(op));
    const anchor = after < 0 ? 0 : rest.indexOf(order[after]!) + 1;
    order = [...rest.slice(0, anchor), ...block, ...rest.slice(anchor)];
    moved = true;
  }
  return moved ? order : null;
}
