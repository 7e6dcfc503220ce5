import type { Cluster, Device } from '../cluster/types.ts';
import type { Evaluated, Evaluator } from '../geneflow/fitness.ts';
import { normalizeRatios } from '../geneflow/encoding.ts';
import type { Model } from '../ir/graph.ts';
import type { PartitionContext } from '../partition/context.ts';
import type { OpDecision, Placement } from '../partition/types.ts';
import { hopMs } from '../simulate/latency.ts';
import type { Simulator } from '../simulate/simulate.ts';

/** What every planner works on: one simulator for (model, cluster, order) and an evaluator sharing its cache. */
export interface PlanningContext {
  model: Model;
  cluster: Cluster;
  simulator: Simulator;
  evaluator: Evaluator;
  /** performance.now() time by which a baseline returns the best plan it has (default: no deadline). */
  deadline?: number;
}

/** A baseline's answer: its best plan's decisions and evaluation, and how many plans it simulated. */
export interface BaselineOutcome {
  best: Evaluated;
  /** Plans the method simulated to choose its answer. */
  candidates: number;
}

export function wholeOn(ctx: PartitionContext, device: number): OpDecision[] {
  return ctx.order.map((op) => ({ op, placement: { device }, sync: true }));
}

export function decisionsOf(
  ctx: PartitionContext,
  placements: readonly Placement[],
  sync: (position: number) => boolean = () => true,
): OpDecision[] {
  return placements.map((placement, p) => ({ op: ctx.order[p]!, placement, sync: sync(p) }));
}

/** True once `deadline` (a performance.now() time, PlanningContext.deadline) has passed. */
export function pastDeadline(deadline: number | undefined): boolean {
  return deadline !== undefined && performance.now() > deadline;
}

/**
 * Evaluates candidates in turn and returns the best (lowest fitness, the first on ties). After `deadline` the
 * remaining candidates are skipped (the first is always evaluated), so a baseline keeps the job's time budget.
 * Candidates may come from a generator: those past the deadline are then never built.
 */
export function bestOf(evaluator: Evaluator, candidates: Iterable<readonly OpDecision[]>, deadline?: number): BaselineOutcome {
  let best: Evaluated | undefined;
  let evaluated = 0;
  for (const c of candidates) {
    if (evaluated > 0 && pastDeadline(deadline)) break;
    const e = evaluator.evaluate(c);
    evaluated++;
    if (best === undefined || e.fitness < best.fitness) best = e;
  }
  return { best: best!, candidates: evaluated };
}

/** Up to this many devices every count is swept; past it, doubling counts (docs/baselines.md, "Large clusters"). */
export const EVERY_COUNT_UP_TO = 16;

/**
 * The device counts k (the k fastest devices) a sweep tries, from `from` to `devices`: every count up to
 * EVERY_COUNT_UP_TO, then 32, 64, 128, … and `devices` itself, so a 1,000-device cluster gets 21 counts, not 999.
 */
export function deviceCounts(devices: number, from = 2): number[] {
  const counts: number[] = [];
  for (let k = from; k <= Math.min(devices, EVERY_COUNT_UP_TO); k++) counts.push(k);
  for (let k = EVERY_COUNT_UP_TO * 2; k < devices; k *= 2) counts.push(k);
  if (devices > EVERY_COUNT_UP_TO) counts.push(devices);
  return counts;
}

/** Ratios over every device: `rate(d)` for the chosen devices, 0 for the others, normalised to sum 1. */
export function ratiosOver(deviceCount: number, chosen: readonly number[], rate: (device: number) => number): number[] {
  const raw = new Array<number>(deviceCount).fill(0);
  for (const d of chosen) raw[d] = rate(d);
  return normalizeRatios(raw)!;
}

/** Devices by the time they need for the whole model, fastest first. */
export function devicesBySpeed(simulator: Simulator): number[] {
  const total = simulator.opMs.map((row) => row.reduce((s, t) => s + t, 0));
  return total.map((_, d) => d).sort((a, b) => total[a]! - total[b]! || a - b);
}

/** A device's effective rate on one operator (FLOPs per ms; whole-op time from the latency model). */
export function rateOn(simulator: Simulator, device: number, opIndex: number): number {
  const t = simulator.opMs[device]![opIndex]!;
  const flops = simulator.context.model.ops[opIndex]!.cost.flops;
  return t > 0 && flops > 0 ? flops / t : 1 / Math.max(t, 1e-9);
}

/** Time to move `bytes` from device `from` to device `to` through the router (one message, docs/latency.md). */
export function transferMs(cluster: Cluster, from: Device | null, to: Device | null, bytes: number): number {
  const router = cluster.router;
  const up = from === null ? 0 : hopMs(bytes, from.uplinkMbps, from.latencyMs);
  const forward = router.forwardingMbps === undefined ? router.latencyMs : hopMs(bytes, router.forwardingMbps, router.latencyMs);
  const down = to === null ? 0 : hopMs(bytes, to.downlinkMbps, to.latencyMs);
  return up + (to === null ? 0 : forward) + down;
}

/** Activation bytes of the tensors each position reads from earlier positions or the graph input. */
export function activationInputs(ctx: PartitionContext, position: number): Array<{ tensor: string; bytes: number; producer: number }> {
  const node = ctx.model.ops[ctx.opIndex[position]!]!.node;
  const out: Array<{ tensor: string; bytes: number; producer: number }> = [];
  node.inputs.forEach((tensor, j) => {
    const info = ctx.model.tensors.get(tensor);
    if (tensor === '' || info === undefined || info.kind === 'weight') return;
    if (out.some((o) => o.tensor === tensor)) return;
    out.push({ tensor, bytes: info.bytes, producer: ctx.producers[position]![j]?.position ?? -1 });
  });
  return out;
}

/** Bytes of the weights an operator reads. */
export function weightBytesOf(ctx: PartitionContext, position: number): number {
  let bytes = 0;
  for (const tensor of ctx.model.ops[ctx.opIndex[position]!]!.node.inputs) {
    const info = ctx.model.tensors.get(tensor);
    if (info?.kind === 'weight') bytes += info.bytes;
  }
  return bytes;
}
