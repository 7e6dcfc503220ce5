import type { OpDecision, SplitDim } from '../partition/types.ts';
import { bestOf, deviceCounts, devicesBySpeed, rateOn, ratiosOver, type BaselineOutcome, type PlanningContext } from './common.ts';

/** Fused depths tried, in layers (DeepThings fuses at most 16). */
const DEPTHS = [1, 2, 3, 4, 6, 8, 10, 12, 14, 16];
const LAYER_TYPES = new Set(['Conv', 'MaxPool', 'AveragePool', 'Gemm', 'MatMul']);

/**
 * DeepThings' Fused Tile Partitioning (docs/baselines.md): the first `depth` layers (convolutions and pools with the
 * operators between them) are fused and their output is cut into a grid of tiles, one stripe per device of the k
 * fastest (the partition space splits one axis, so an N×M grid becomes k stripes of rows; shares follow device speed,
 * as DeepThings' work stealing balances them); each device computes its tile's whole stack, halo recomputed, with no
 * exchange in between. The rest of the model runs on the fastest device. Sweeps depth and k. Sequence models have no
 * rows: their token axis is cut instead.
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
  function* candidates(): Generator<OpDecision[]> {
    for (const end of ends.filter((e) => e > 0)) {
      for (const k of deviceCounts(cluster.devices.length)) {
        const ratios = ratiosOver(cluster.devices.length, bySpeed.slice(0, k), (d) => rateOn(simulator, d, ctx.opIndex[0]!));
        yield ctx.order.map((op, p) =>
          p < end ? { op, placement: { dim, ratios }, sync: p === end - 1 } : { op, placement: { device: bySpeed[0]! }, sync: true },
        );
      }
    }
    yield ctx.order.map((op) => ({ op, placement: { device: bySpeed[0]! }, sync: true }));
  }
  return bestOf(evaluator, candidates(), deadline);
}
