import { sharesToGrid } from '../geneflow/operators.ts';
import type { OpDecision, Placement, SplitDim } from '../partition/types.ts';
import { bestOf, deviceCounts, devicesBySpeed, rateOn, ratiosOver, type BaselineOutcome, type PlanningContext } from './common.ts';

/** Fused depths tried, in layers (DeepThings fuses at most 16). */
const DEPTHS = [1, 2, 3, 4, 6, 8, 10, 12, 14, 16];
const LAYER_TYPES = new Set(['Conv', 'MaxPool', 'AveragePool', 'Gemm', 'MatMul']);
/** Sequential sub-tiles per grid tile also tried (more tiles than devices, DeepThings' finer grids). */
const GRID_TILES = 2;

/**
 * DeepThings' Fused Tile Partitioning (docs/baselines.md): the first `depth` layers (convolutions and pools with the
 * operators between them) are fused and their output is cut into tiles among the k fastest devices; each device
 * computes its tile's whole stack, halo recomputed, with no exchange in between. The rest of the model runs on the
 * fastest device. Tiles are k stripes of rows with shares ∝ speed (as DeepThings' work stealing balances them), and,
 * where every fused operator takes a grid, every N×M grid of k = N·M equal tiles with M ≥ 2 (2×2, 1×4 for four
 * devices; fastest devices first, row-major), alone and with `tiles: 2` sequential sub-tiles per tile, and on devices of
 * unequal speed also with bands sized by their shares (`sharesToGrid`). Sweeps depth,
 * k and the tiling; keeps the best. Sequence models have no rows: their token axis is cut instead.
 */
export function deepThings({ simulator, evaluator, cluster, deadline }: PlanningContext): BaselineOutcome {
  const ctx = simulator.context;
  const n = ctx.order.length;
  const bySpeed = devicesBySpeed(simulator);
  const dim: SplitDim = ctx.layout.kind === 'cnn' ? 'rows' : 'tokens';
  // Prefix ends: position after the depth-th layer and the non-layer operators following it.
  const ends: number[] = [];
  let layers = 0;
  for (let p = 0; p < n; p++) {
    if (!ctx.space[p]!.options.some((o) => o.dim === dim)) break;
    const isLayer = LAYER_TYPES.has(ctx.space[p]!.opType);
    if (isLayer && DEPTHS.includes(layers)) ends.push(p);
    if (isLayer) layers++;
    if (layers > DEPTHS[DEPTHS.length - 1]!) break;
    if (p === n - 1 && DEPTHS.includes(layers)) ends.push(n);
  }
  // Grids need every fused operator to take one: the prefix ends up to the first operator that does not.
  let gridEnd = 0;
  while (gridEnd < n && ctx.space[gridEnd]!.grid !== null) gridEnd++;
  const prefix = (end: number, placement: Placement, tiles?: number): OpDecision[] =>
    ctx.order.map((op, p) =>
      p < end
        ? { op, placement, sync: p === end - 1, ...(p === end - 1 && tiles !== undefined ? { tiles } : {}) }
        : { op, placement: { device: bySpeed[0]! }, sync: true },
    );
  function* candidates(): Generator<OpDecision[]> {
    for (const end of ends.filter((e) => e > 0)) {
      for (const k of deviceCounts(cluster.devices.length)) {
        const ratios = ratiosOver(cluster.devices.length, bySpeed.slice(0, k), (d) => rateOn(simulator, d, ctx.opIndex[0]!));
        yield prefix(end, { dim, ratios });
        if (end > gridEnd) continue;
        for (let rows = 1; rows * 2 <= k; rows++) {
          if (k % rows !== 0) continue;
          const cols = k / rows;
          const grid: Placement = {
            dim: 'grid',
            rows: new Array<number>(rows).fill(1),
            cols: new Array<number>(cols).fill(1),
            devices: bySpeed.slice(0, k),
          };
          yield prefix(end, grid);
          if (end >= 2) yield prefix(end, grid, GRID_TILES);
          // Devices of unequal speed: bands sized by the devices' shares too (sharesToGrid), as stripes are.
          const taking = ratios.filter((r) => r > 0);
          const balanced = taking.every((r) => r === taking[0]) ? null : sharesToGrid(ratios, [rows, cols]);
          if (balanced !== null) yield prefix(end, balanced);
        }
      }
    }
    yield ctx.order.map((op) => ({ op, placement: { device: bySpeed[0]! }, sync: true }));
  }
  return bestOf(evaluator, candidates(), deadline);
}
