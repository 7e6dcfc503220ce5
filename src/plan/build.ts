import type { Cluster } from '../cluster/types.ts';
import type { Model } from '../ir/graph.ts';
import { partitionContext } from '../partition/context.ts';
import { checkDecisions } from '../partition/slices.ts';
import { modelFingerprint } from '../model/fingerprint.ts';
import { PLAN_FORMAT, PLAN_VERSION, type Plan } from './types.ts';
import type { OpDecision, SplitDim } from '../partition/types.ts';

/** Wraps decisions (one per operator, in `order`) into a plan file object, after checking them. */
export function makePlan(model: Model, cluster: Cluster, order: readonly string[], ops: OpDecision[], method: string): Plan {
  checkDecisions(partitionContext(model, order), ops, cluster.devices.length);
  return {
    format: PLAN_FORMAT,
    version: PLAN_VERSION,
    method,
    model: { name: model.name, fingerprint: modelFingerprint(model), options: model.options ?? {} },
    cluster,
    order: [...order],
    ops,
  };
}

/** Index of the device with the highest `gflops` (the first on ties). */
export function fastestDevice(cluster: Cluster): number {
  let best = 0;
  cluster.devices.forEach((d, i) => d.gflops > cluster.devices[best]!.gflops && (best = i));
  return best;
}

/** Everything on one device, in order (method `single`). */
export function singleDevicePlan(model: Model, cluster: Cluster, order: readonly string[], device = fastestDevice(cluster)): Plan {
  return makePlan(
    model,
    cluster,
    order,
    order.map((op) => ({ op, placement: { device }, sync: true })),
    'single',
  );
}

/**
 * Every splittable operator split along the first of `dims` it offers, with ratios proportional to the devices'
 * GFLOP/s, synchronised after every operator; the rest run on the fastest device (method `proportional`,
 * MoDNN-style per-layer splitting).
 */
export function proportionalPlan(
  model: Model,
  cluster: Cluster,
  order: readonly string[],
  dims: readonly SplitDim[] = ['rows', 'tokens', 'channels', 'heads'],
): Plan {
  const ctx = partitionContext(model, order);
  const ratios = cluster.devices.map((d) => d.gflops);
  const fastest = fastestDevice(cluster);
  const ops = ctx.space.map((space): OpDecision => {
    const dim = dims.find((d) => space.options.some((o) => o.dim === d));
    return {
      op: space.op,
      placement: dim === undefined || cluster.devices.length === 1 ? { device: fastest } : { dim, ratios: [...ratios] },
      sync: true,
    };
  });
  return makePlan(model, cluster, order, ops, 'proportional');
}
