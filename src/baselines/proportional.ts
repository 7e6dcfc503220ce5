import type { Placement, SplitDim } from '../partition/types.ts';
import { normalizeRatios } from '../geneflow/encoding.ts';
import { bestOf, decisionsOf, devicesBySpeed, rateOn, type BaselineOutcome, type PlanningContext } from './common.ts';

/** Split dims tried first, in turn: the spatial one (rows of CNN maps, tokens of sequences), then channels. */
export const SPATIAL_FIRST: ReadonlyArray<readonly SplitDim[]> = [
  ['rows', 'tokens', 'channels', 'heads'],
  ['channels', 'heads', 'rows', 'tokens'],
];

/**
 * Per-layer split proportional to device speed (MoDNN / CoEdge, docs/baselines.md): every operator that can be
 * split is split among the k fastest devices with shares proportional to each one's rate on that operator, and
 * synchronised (each layer's output is exchanged before the next layer). Operators that run whole go to the
 * fastest of the k. Sweeps k = 1..devices and the split dimension preference (spatial or channels).
 */
export function proportional({ simulator, evaluator, cluster, deadline }: PlanningContext): BaselineOutcome {
  const ctx = simulator.context;
  const bySpeed = devicesBySpeed(simulator);
  const candidates = [];
  for (let k = 2; k <= cluster.devices.length; k++) {
    const chosen = bySpeed.slice(0, k);
    for (const preference of SPATIAL_FIRST) {
      const placements: Placement[] = ctx.space.map((space, p) => {
        const dim = preference.find((d) => space.options.some((o) => o.dim === d));
        if (dim === undefined) return { device: chosen[0]! };
        const ratios = normalizeRatios(cluster.devices.map((_, d) => (chosen.includes(d) ? rateOn(simulator, d, ctx.opIndex[p]!) : 0)))!;
        return { dim, ratios };
      });
      candidates.push(decisionsOf(ctx, placements));
    }
  }
  if (candidates.length === 0)
    candidates.push(
      decisionsOf(
        ctx,
        ctx.order.map(() => ({ device: bySpeed[0]! })),
      ),
    );
  return bestOf(evaluator, candidates, deadline);
}
