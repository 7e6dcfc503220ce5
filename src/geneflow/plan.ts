import type { Model } from '../ir/graph.ts';
import { PLAN_FORMAT, PLAN_VERSION, type OpDecision, type Plan } from '../plan/types.ts';
import type { Simulator } from '../simulate/simulate.ts';

/** A plan file for decisions made on `simulator`'s (model, cluster, order) by `method`. */
export function planOf(model: Model, simulator: Simulator, method: string, decisions: readonly OpDecision[]): Plan {
  return {
    format: PLAN_FORMAT,
    version: PLAN_VERSION,
    method,
    model: { name: model.name, fingerprint: simulator.fingerprint },
    cluster: simulator.cluster,
    order: [...simulator.context.order],
    ops: decisions.map((d) => ({ op: d.op, placement: 'device' in d.placement ? { device: d.placement.device } : { dim: d.placement.dim, ratios: [...d.placement.ratios] }, sync: d.sync })),
  };
}
