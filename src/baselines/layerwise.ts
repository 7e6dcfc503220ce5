import { deviceMemoryBytes } from '../cluster/types.ts';
import type { PartitionContext } from '../partition/context.ts';
import {
  activationInputs,
  decisionsOf,
  devicesBySpeed,
  transferMs,
  weightBytesOf,
  type BaselineOutcome,
  type PlanningContext,
} from './common.ts';

/** The DP's device subsets are bitmasks: at most this many devices (the fastest) take part. */
export const MAX_DP_DEVICES = 8;

/** Cut candidates kept for the DP (the boundaries with the fewest bytes crossing them). */
const MAX_CUTS = 80;

interface StageCosts {
  /** Activation bytes a stage [i, j) receives from the router (graph inputs) and from earlier stages. */
  fromRouter: { bytes: number; messages: number };
  fromEarlier: { bytes: number; messages: number };
  /** Graph outputs the stage produces (sent to the router). */
  toRouter: { bytes: number; messages: number };
  weightBytes: number;
  /** Peak of the activations live in the whole order while the stage's operators run (an over-estimate). */
  activationPeak: number;
}

/** Per position: activation bytes live while it runs in the order, and the bytes crossing each boundary. */
function liveness(ctx: PartitionContext): { live: number[]; crossing: number[] } {
  const n = ctx.order.length;
  const lastUse = new Map<string, number>();
  const producedAt = new Map<string, { position: number; bytes: number }>();
  for (let p = 0; p < n; p++) {
    for (const input of activationInputs(ctx, p)) {
      producedAt.set(input.tensor, { position: input.producer, bytes: input.bytes });
      lastUse.set(input.tensor, p);
    }
    const node = ctx.model.ops[ctx.opIndex[p]!]!.node;
    node.outputs.forEach((t, k) => {
      if (t === '') return;
      producedAt.set(t, { position: p, bytes: ctx.model.tensors.get(t)?.bytes ?? 0 });
      if (ctx.isGraphOutput[p]![k]) lastUse.set(t, n);
      else if (!lastUse.has(t)) lastUse.set(t, p);
    });
  }
  const live = new Array<number>(n).fill(0);
  const crossing = new Array<number>(n + 1).fill(0);
  for (const [tensor, { position, bytes }] of producedAt) {
    const last = lastUse.get(tensor) ?? position;
    for (let k = Math.max(0, position); k <= Math.min(n - 1, last); k++) live[k]! += bytes;
    for (let b = position + 1; b <= Math.min(n, last); b++) crossing[b]! += bytes;
  }
  return { live, crossing };
}

/**
 * Layer-wise placement (Neurosurgeon's cut generalised to PipeEdge's exact DP over contiguous ranges, docs/baselines.md):
 * the order is cut into stages, each run whole on a distinct device. Over the cut candidates and device subsets the DP
 * minimises an estimate of the latency — each stage's compute plus the transfer of every tensor it reads from the router
 * or an earlier stage, and of the graph outputs it produces — with PipeEdge's memory check (stage weights plus the
 * activations live while it runs must fit the device). The chosen plan is then simulated.
 */
export function layerwise({ simulator, evaluator, cluster }: PlanningContext): BaselineOutcome {
  const ctx = simulator.context;
  const n = ctx.order.length;
  // The DP runs over subsets of devices (2^D states): on larger clusters, over the MAX_DP_DEVICES fastest.
  const dpDevices = devicesBySpeed(simulator).slice(0, MAX_DP_DEVICES);
  if (cluster.devices.length <= MAX_DP_DEVICES) dpDevices.sort((a, b) => a - b);
  const devices = dpDevices.map((d) => cluster.devices[d]!);
  const D = devices.length;
  const { live, crossing } = liveness(ctx);
  const maxCuts = D > 4 ? MAX_CUTS / 2 : MAX_CUTS;
  const inner = Array.from({ length: n - 1 }, (_, i) => i + 1)
    .sort((a, b) => crossing[a]! - crossing[b]! || a - b)
    .slice(0, maxCuts);
  const cuts = [0, ...inner.sort((a, b) => a - b), n];
  const K = cuts.length;

  const computePrefix = dpDevices.map((device) => {
    const prefix = [0];
    for (let p = 0; p < n; p++) prefix.push(prefix[p]! + simulator.opMs[device]![ctx.opIndex[p]!]!);
    return prefix;
  });
  const weightPrefix = [0];
  for (let p = 0; p < n; p++) weightPrefix.push(weightPrefix[p]! + weightBytesOf(ctx, p));

  // costs[a][b]: stage from cuts[a] to cuts[b].
  const costs: StageCosts[][] = [];
  for (let a = 0; a < K - 1; a++) {
    const start = cuts[a]!;
    const row: StageCosts[] = [];
    const seen = new Set<string>();
    const fromRouter = { bytes: 0, messages: 0 };
    const fromEarlier = { bytes: 0, messages: 0 };
    const toRouter = { bytes: 0, messages: 0 };
    let peak = 0;
    let p = start;
    for (let b = a + 1; b < K; b++) {
      for (; p < cuts[b]!; p++) {
        peak = Math.max(peak, live[p]!);
        for (const input of activationInputs(ctx, p)) {
          if (input.producer >= start || seen.has(input.tensor)) continue;
          seen.add(input.tensor);
          const into = input.producer < 0 ? fromRouter : fromEarlier;
          into.bytes += input.bytes;
          into.messages++;
        }
        ctx.isGraphOutput[p]!.forEach((isOut, k) => {
          if (!isOut) return;
          toRouter.bytes += ctx.model.tensors.get(ctx.model.ops[ctx.opIndex[p]!]!.node.outputs[k]!)!.bytes;
          toRouter.messages++;
        });
      }
      row[b] = {
        fromRouter: { ...fromRouter },
        fromEarlier: { ...fromEarlier },
        toRouter: { ...toRouter },
        weightBytes: weightPrefix[cuts[b]!]! - weightPrefix[start]!,
        activationPeak: peak,
      };
    }
    costs.push(row);
  }

  const stageMs = (a: number, b: number, from: number, to: number): number => {
    const c = costs[a]![b]!;
    const device = devices[to]!;
    let ms = computePrefix[to]![cuts[b]!]! - computePrefix[to]![cuts[a]!]!;
    if (c.fromRouter.messages > 0)
      ms += transferMs(cluster, null, device, c.fromRouter.bytes) + (c.fromRouter.messages - 1) * device.latencyMs;
    if (c.fromEarlier.messages > 0 && from >= 0)
      ms += transferMs(cluster, devices[from]!, device, c.fromEarlier.bytes) + (c.fromEarlier.messages - 1) * 2 * device.latencyMs;
    if (c.toRouter.messages > 0) ms += transferMs(cluster, device, null, c.toRouter.bytes) + (c.toRouter.messages - 1) * device.latencyMs;
    return ms;
  };

  const solve = (checkMemory: boolean): Array<[number, number, number]> | null => {
    const fits = (a: number, b: number, d: number) =>
      !checkMemory || costs[a]![b]!.weightBytes + costs[a]![b]!.activationPeak <= deviceMemoryBytes(devices[d]!);
    const states = (1 << D) * K * D;
    const best = new Float64Array(states).fill(Number.POSITIVE_INFINITY);
    const parent = new Int32Array(states).fill(-1);
    const at = (mask: number, b: number, d: number) => (mask * K + b) * D + d;
    for (let b = 1; b < K; b++) {
      for (let d = 0; d < D; d++) if (fits(0, b, d)) best[at(1 << d, b, d)] = stageMs(0, b, -1, d);
    }
    for (let mask = 1; mask < 1 << D; mask++) {
      for (let a = 1; a < K - 1; a++) {
        for (let d = 0; d < D; d++) {
          const here = best[at(mask, a, d)]!;
          if (!Number.isFinite(here)) continue;
          for (let e = 0; e < D; e++) {
            if (mask & (1 << e)) continue;
            const next = mask | (1 << e);
            for (let b = a + 1; b < K; b++) {
              if (!fits(a, b, e)) continue;
              const total = here + stageMs(a, b, d, e);
              const slot = at(next, b, e);
              if (total < best[slot]!) {
                best[slot] = total;
                parent[slot] = at(mask, a, d);
              }
            }
          }
        }
      }
    }
    let end = -1;
    for (let mask = 1; mask < 1 << D; mask++) {
      for (let d = 0; d < D; d++) if (end < 0 || best[at(mask, K - 1, d)]! < best[end]!) end = at(mask, K - 1, d);
    }
    if (!Number.isFinite(best[end]!)) return null;
    const stages: Array<[number, number, number]> = [];
    for (let slot = end; slot >= 0; slot = parent[slot]!) {
      const d = slot % D;
      const b = Math.floor(slot / D) % K;
      stages.unshift([b, b, d]);
    }
    return stages.map(([b, , d], k) => [k === 0 ? 0 : cuts[stages[k - 1]![0]]!, cuts[b]!, d]);
  };

  const stages = solve(true) ?? solve(false)!;
  const placements = new Array(n);
  for (const [start, end, d] of stages) for (let p = start; p < end; p++) placements[p] = { device: dpDevices[d]! };
  return { best: evaluator.evaluate(decisionsOf(ctx, placements)), candidates: 1 };
}
