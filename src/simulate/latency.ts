import type { Device, ExecutionOverheads, Router } from '../cluster/types.ts';
import type { Model } from '../ir/graph.ts';
import type { SplitDim } from '../partition/types.ts';

/**
 * THE latency model (docs/latency.md). Compute: a device runs a whole operator in
 *   t = measured ms (profile.ops, when the profile's model fingerprint matches), else
 *   t = FLOPs / (profile.opTypes[type] GFLOP/s), else
 *   t = FLOPs / (gflops × efficiency[type] (default 1) GFLOP/s);
 * a slice takes t × (its FLOPs / the operator's FLOPs), i.e. t × its share of the output elements, × (1 + the
 * device's splitPenalty[dim]) when the operator is split along dim over several devices; each step (simulate/steps.ts) adds
 * stepOverheadMs (deviceOverheads: none without a profile that measured them).
 */
export function wholeOpMs(device: Device, model: Model, opIndex: number, fingerprint: string): number {
  const op = model.ops[opIndex]!;
  const profile = device.profile;
  const measured = profile?.model?.fingerprint === fingerprint ? profile.ops?.[op.node.name] : undefined;
  if (measured !== undefined) return measured;
  const type = op.node.opType;
  const gflops = profile?.opTypes?.[type] ?? device.gflops * (device.efficiency?.[type] ?? 1);
  return op.cost.flops / (gflops * 1e6);
}

/** ms per whole operator, [device][model op index]: the table simulations scale slices from. */
export function opTimeTable(devices: readonly Device[], model: Model, fingerprint: string): number[][] {
  return devices.map((device) => model.ops.map((_, i) => wholeOpMs(device, model, i, fingerprint)));
}

/** A device's execution overheads (docs/latency.md, "Steps"): its profile's, else none. */
export function deviceOverheads(device: Device): ExecutionOverheads | null {
  const o = device.profile?.overheads;
  return o === undefined || (o.stepMs === 0 && o.msPerMiB === 0 && Object.values(o.splitPenalty).every((v) => v === 0)) ? null : o;
}

/**
 * One device's slice of an operator: the whole operator's time × the slice's share of the output elements, × (1 +
 * splitPenalty[dim]) when the operator is split along `splitDim` over several devices (null: not split).
 */
export function sliceMs(wholeMs: number, share: number, overheads: ExecutionOverheads | null, splitDim: SplitDim | null): number {
  const penalty = splitDim === null || overheads === null ? 0 : (overheads.splitPenalty[splitDim] ?? 0);
  return wholeMs * share * (1 + penalty);
}

/** What one step costs beyond its slices: stepMs + msPerMiB × the MiB crossing its border. */
export function stepOverheadMs(overheads: ExecutionOverheads, boundaryBytes: number): number {
  return overheads.stepMs + (overheads.msPerMiB * boundaryBytes) / 2 ** 20;
}

/** One message over one link hop: latencyMs + bytes × 8 / (Mbit/s × 1000) milliseconds. */
export function hopMs(bytes: number, mbps: number, latencyMs: number): number {
  return latencyMs + (bytes * 8) / (mbps * 1000);
}

export const uploadMs = (device: Device, bytes: number): number => hopMs(bytes, device.uplinkMbps, device.latencyMs);
export const downloadMs = (device: Device, bytes: number): number => hopMs(bytes, device.downlinkMbps, device.latencyMs);

/** The router's forwarding of one message: its per-message latency plus, when it has a rate, the payload time. */
export function forwardMs(router: Router, bytes: number): number {
  return router.forwardingMbps === undefined ? router.latencyMs : hopMs(bytes, router.forwardingMbps, router.latencyMs);
}
