import type { Cluster } from '../cluster/types.ts';
import type { PartitionContext } from '../partition/context.ts';
import type { LowerBound } from './types.ts';

/**
 * A latency no plan can beat (docs/latency.md, "Lower bound"), from the whole-operator time table
 * opMs[device][model op index]:
 * - computeMs = Σ FLOPs / Σ_d R_d, where R_d is device d's best rate (FLOPs/ms) over all operators;
 * - criticalPathMs = the longest dependency path, an operator weighing FLOPs / Σ_d R_d if it can be split and its
 *   fastest whole time if it cannot;
 * - ioMs = the router's latency plus the smallest per-hop latency twice (the input must reach a device, the
 *   output must come back).
 */
export function lowerBound(ctx: PartitionContext, cluster: Cluster, opMs: readonly number[][]): LowerBound {
  const ops = ctx.model.ops;
  let pooledRate = 0;
  for (let d = 0; d < cluster.devices.length; d++) {
    let best = 0;
    ops.forEach((op, i) => {
      const t = opMs[d]![i]!;
      if (op.cost.flops > 0 && t > 0) best = Math.max(best, op.cost.flops / t);
    });
    pooledRate += best;
  }
  const totalFlops = ops.reduce((sum, op) => sum + op.cost.flops, 0);
  const computeMs = pooledRate > 0 ? totalFlops / pooledRate : 0;
  const finish: number[] = new Array(ctx.order.length).fill(0);
  let criticalPathMs = 0;
  ctx.opIndex.forEach((index, p) => {
    const splittable = ctx.space[p]!.options.length > 0;
    const weight = splittable
      ? pooledRate > 0
        ? ops[index]!.cost.flops / pooledRate
        : 0
      : Math.min(...cluster.devices.map((_, d) => opMs[d]![index]!));
    let start = 0;
    for (const source of ctx.producers[p]!) if (source !== null) start = Math.max(start, finish[source.position]!);
    finish[p] = start + weight;
    criticalPathMs = Math.max(criticalPathMs, finish[p]!);
  });
  const hop = Math.min(...cluster.devices.map((d) => d.latencyMs));
  return { computeMs, criticalPathMs, ioMs: cluster.router.latencyMs + 2 * hop };
}

export function lowerBoundMs(bound: LowerBound): number {
  return bound.ioMs + Math.max(bound.computeMs, bound.criticalPathMs);
}
