import type { Cluster, Device, ExecutionOverheads } from '../cluster/types.ts';
import type { Model } from '../ir/graph.ts';
import type { SplitDim } from '../partition/types.ts';
import { fusionGroups } from '../analysis/fusion.ts';

/**
 * THE latency model (docs/latency.md). Compute: a device runs a whole operator in
 *   t = measured ms (profile.ops, when the profile's model fingerprint matches), else
 *   t = FLOPs / (profile.opTypes[type] GFLOP/s), else
 *   t = FLOPs / (gflops × efficiency[type] (default 1) GFLOP/s), and with the device's `memoryGBps` the roofline:
 *       its fusion group (analysis/fusion.ts) takes max(Σ its members' FLOPs times, its bytes / memoryGBps), shared
 *       among its members in proportion to their FLOPs times (equally when none has any);
 * a slice takes t × (its FLOPs / the operator's FLOPs), i.e. t × its share of the output elements, × (1 + the
 * device's splitPenalty[dim]) when the operator is split along dim over several devices; each step (simulate/steps.ts) adds
 * stepOverheadMs (deviceOverheads: none without a profile that measured them).
 */
export function wholeOpMs(device: Device, model: Model, opIndex: number, fingerprint: string): number {
  const op = model.ops[opIndex]!;
  const profile = device.profile;
  const measured = profile?.model?.fingerprint === fingerprint ? profile.ops?.[op.node.name] : undefined;
  if (measured !== undefined) return measured;
  const bandwidth = device.memoryGBps;
  const compute = computeMs(device, model, opIndex);
  if (bandwidth === undefined || profile?.opTypes?.[op.node.opType] !== undefined) return compute;
  const fusion = fusionGroups(model);
  const group = fusion.groups[fusion.groupOf[opIndex]!]!;
  const groupCompute = group.ops.reduce((n, i) => n + computeMs(device, model, i), 0);
  const memory = memoryMs(group.bytes, bandwidth);
  if (memory <= groupCompute) return compute;
  return groupCompute > 0 ? (memory * compute) / groupCompute : memory / group.ops.length;
}

/** An operator's FLOPs at the device's rate for its type (profile.opTypes, else gflops × efficiency). */
export function computeMs(device: Device, model: Model, opIndex: number): number {
  const op = model.ops[opIndex]!;
  const type = op.node.opType;
  const gflops = device.profile?.opTypes?.[type] ?? device.gflops * (device.efficiency?.[type] ?? 1);
  return op.cost.flops / (gflops * 1e6);
}

/** Bytes over a memory bandwidth of `gbps` GB/s (1e9 bytes/s), in ms. */
export const memoryMs = (bytes: number, gbps: number): number => bytes / (gbps * 1e6);

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

/** Time `bytes` occupy a link of `mbps` Mbit/s: bytes × 8 / (mbps × 1000) milliseconds (0 on an unlimited link). */
export function transmitMs(bytes: number, mbps: number): number {
  return mbps === Infinity ? 0 : (bytes * 8) / (mbps * 1000);
}

/** One message alone on one link hop: its transmission plus the hop's delay, latencyMs + bytes × 8 / (mbps × 1000). */
export function hopMs(bytes: number, mbps: number, latencyMs: number): number {
  return latencyMs + transmitMs(bytes, mbps);
}

/**
 * A serial transmission resource (docs/latency.md, "Links"): one message's bytes at a time, first come first served.
 * On a switched network every device link direction is a channel of its own; on a shared medium all devices'
 * uplinks and downlinks are one channel (the access point's airtime).
 */
export class Channel {
  private freeAt = 0;
  /** Total time transmissions occupied the channel (ms). */
  busyMs = 0;

  /** Books `ms` of transmission for a message ready at `readyAt`; returns when it starts. */
  book(readyAt: number, ms: number): number {
    const start = Math.max(readyAt, this.freeAt);
    this.freeAt = start + ms;
    this.busyMs += ms;
    return start;
  }
}

/** When one message's bytes started and finished leaving over a hop, and when it arrived at the hop's far end. */
export interface Transfer {
  startMs: number;
  sentMs: number;
  arrivesMs: number;
}

/**
 * One hop of the star: its bytes occupy `channel` at `mbps`; its `delayMs` (the per-message latency) is then paid
 * without occupying anything, so messages queued on one hop overlap their delays.
 */
export class Hop {
  /** Total time this hop's messages occupied its channel (ms). */
  busyMs = 0;

  constructor(
    readonly channel: Channel,
    readonly mbps: number,
    readonly delayMs: number,
  ) {}

  send(readyAt: number, bytes: number): Transfer {
    const tx = transmitMs(bytes, this.mbps);
    const startMs = this.channel.book(readyAt, tx);
    this.busyMs += tx;
    return { startMs, sentMs: startMs + tx, arrivesMs: startMs + tx + this.delayMs };
  }
}

/** A cluster's hops, fresh (nothing booked): what the simulator and the runtime's link emulation both schedule on. */
export interface Network {
  uplinks: Hop[];
  downlinks: Hop[];
  /** The router's forwarding: its own channel at forwardingMbps (unlimited when not given), delay router.latencyMs. */
  forward: Hop;
}

export function network(cluster: Cluster): Network {
  const shared = cluster.medium === 'shared' ? new Channel() : null;
  return {
    uplinks: cluster.devices.map((d) => new Hop(shared ?? new Channel(), d.uplinkMbps, d.latencyMs)),
    downlinks: cluster.devices.map((d) => new Hop(shared ?? new Channel(), d.downlinkMbps, d.latencyMs)),
    forward: new Hop(new Channel(), cluster.router.forwardingMbps ?? Infinity, cluster.router.latencyMs),
  };
}
