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
