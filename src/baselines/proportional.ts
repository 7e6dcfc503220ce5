import type { OpDecision, Placement, SplitDim } from '../partition/types.ts';
import {
  bestOf,
  decisionsOf,
  deviceCounts,
  devicesBySpeed,
  rateOn,
  ratiosOver,
  type BaselineOutcome,
  type PlanningContext,
} from './common.ts';

/** Split dims tried first, in turn: the spatial one (rows of CNN maps, tokens of sequences), then channels. */
export const SPATIAL_FIRST: ReadonlyArray<readonly SplitDim[]> = [
  ['rows', 'tokens', 'channels', 'heads'],
  ['channels', 'heads', 'rows', 'tokens'],
];

/**
 * Per-layer split proportional to device speed (MoDNN / CoEdge, docs/baselines.md): every operator that can be
 * split is split among the k fastest devices with shares proportional to each one's rate on that operator, and
 * synchronised (each layer's output is exchanged before the next layer). Operators that run whole go to the
 * fastest of the k. Sweeps k over `deviceCounts` and the split dimension preference (spatial or channels).
 */
export function proportional({ simulator, evaluator, cluster, deadline }: PlanningContext): BaselineOutcome {
  const ctx = simulator.context;
  const bySpeed = devicesBySpeed(simulator);
  const deviceCount = cluster.devices.length;
  function* candidates(): Generator<OpDecision[]> {
    for (const k of deviceCounts(deviceCount)) {
      const chosen = bySpeed.slice(0, k);
      for (const preference of SPATIAL_FIRST) {
        const placements: Placement[] = ctx.space.map((space, p) => {
          const dim = preference.find((d) => space.options.some((o) => o.dim === d));
          if (dim === undefined) return { device: chosen[0]! };
          return { dim, ratios: ratiosOver(deviceCount, chosen, (d) => rateOn(simulator, d, ctx.opIndex[p]!)) };
        });
        yield decisionsOf(ctx, placements);
      }
    }
    if (deviceCount < 2)
      yield decisionsOf(
        ctx,
        ctx.order.map(() => ({ device: bySpeed[0]! })),
      );
  }
  return bestOf(evaluator, candidates(), deadline);
}
