import type { Cluster } from '../cluster/types.ts';
import { deviceMemoryBytes } from '../cluster/types.ts';
import { fail } from '../errors.ts';
import type { Model } from '../ir/graph.ts';
import { boxVolume } from '../partition/box.ts';
import { partitionContext, type PartitionContext } from '../partition/context.ts';
import { checkDecisions, planSlices } from '../partition/slices.ts';
import type { PlanSlices } from '../partition/types.ts';
import { modelFingerprint } from '../model/fingerprint.ts';
import type { Plan } from '../plan/types.ts';
import type { OpDecision } from '../partition/types.ts';
import { lowerBound, lowerBoundMs } from './bound.ts';
import { communication, ROUTER, type Communication } from './comm.ts';
import { EventQueue } from './events.ts';
import { deviceOverheads, network, opTimeTable, sliceMs, stepOverheadMs } from './latency.ts';
import { deviceMemory, sendPositions } from './memory.ts';
import { deviceSteps, splitDimOf } from './steps.ts';
import type { DeviceBreakdown, LowerBound, SimulateOptions, SimulationResult, TimelineEvent } from './types.ts';

/**
 * A simulator bound to one (model, cluster, order): the partition context, the whole-operator time table and the
 * lower bound are computed once, so `run` costs only what depends on the decisions. What search loops use.
 */
export interface Simulator {
  readonly context: PartitionContext;
  readonly cluster: Cluster;
  readonly fingerprint: string;
  /** ms of each whole operator on each device: [device][model op index]. */
  readonly opMs: number[][];
  readonly lowerBound: LowerBound;
  readonly lowerBoundMs: number;
  /** Simulates decisions (one per operator, in order). Checks them first unless `trusted`. */
  run(decisions: readonly OpDecision[], options?: SimulateOptions & { trusted?: boolean }): SimulationResult;
  /** The per-device slices of decisions (what the runtime builds sub-models from). */
  slices(decisions: readonly OpDecision[]): PlanSlices;
}

export function createSimulator(model: Model, cluster: Cluster, order: readonly string[]): Simulator {
  const context = partitionContext(model, order);
  const fingerprint = modelFingerprint(model);
  const opMs = opTimeTable(cluster.devices, model, fingerprint);
  const bound = lowerBound(context, cluster, opMs);
  const boundMs = lowerBoundMs(bound);
  const deviceCount = cluster.devices.length;
  return {
    context,
    cluster,
    fingerprint,
    opMs,
    lowerBound: bound,
    lowerBoundMs: boundMs,
    slices(decisions) {
      checkDecisions(context, decisions, deviceCount);
      return planSlices(context, decisions, deviceCount);
    },
    run(decisions, options = {}) {
      if (options.trusted !== true) checkDecisions(context, decisions, deviceCount);
      const slices = planSlices(context, decisions, deviceCount);
      const comm = communication(context, slices, cluster);
      const result = runEvents(context, cluster, opMs, decisions, slices, comm, options.timeline ?? true);
      // Every latency the tool reports comes from here: finite and never below the bound, or the model is broken.
      if (!Number.isFinite(result.latencyMs) || result.latencyMs < boundMs * (1 - 1e-9) - 1e-9)
        throw new Error(`latency invariant violated: ${result.latencyMs} ms against the lower bound ${boundMs} ms on '${cluster.name}'`);
      return { ...result, lowerBoundMs: boundMs, lowerBound: bound };
    },
  };
}

/** Simulates a plan on a cluster (by default the plan's own). The plan must match the model (see readPlan). */
export function simulate(model: Model, cluster: Cluster, plan: Plan, options: SimulateOptions = {}): SimulationResult {
  if (cluster.devices.length !== plan.cluster.devices.length) {
    fail(`plan is for ${plan.cluster.devices.length} devices, cluster '${cluster.name}' has ${cluster.devices.length}`, 'invalid-plan');
  }
  return createSimulator(model, cluster, plan.order).run(plan.ops, options);
}

type Event =
  | { kind: 'compute'; device: number; task: number }
  | { kind: 'atRouter'; message: number }
  | { kind: 'forwarded'; message: number }
  | { kind: 'delivered'; device: number; message: number; delivery: number };

function runEvents(
  ctx: PartitionContext,
  cluster: Cluster,
  opMs: number[][],
  decisions: readonly OpDecision[],
  slices: PlanSlices,
  comm: Communication,
  keepTimeline: boolean,
): Omit<SimulationResult, 'lowerBoundMs' | 'lowerBound'> {
  const devices = cluster.devices;
  const n = devices.length;
  const { messages } = comm;
  // Per device: its slices in order, with their duration and how many deliveries each still waits for.
  const tasks: number[][] = Array.from({ length: n }, () => []);
  const duration: number[][] = Array.from({ length: n }, () => []);
  const taskAt: Int32Array[] = Array.from({ length: n }, () => new Int32Array(ctx.order.length));
  const breakdown: DeviceBreakdown[] = devices.map((d) => ({
    device: d.name,
    computeMs: 0,
    sendMs: 0,
    receiveMs: 0,
    idleMs: 0,
    flops: 0,
    bytesSent: 0,
    bytesReceived: 0,
    weightBytes: 0,
    activationPeakBytes: 0,
  }));
  const overheads = devices.map(deviceOverheads);
  slices.ops.forEach((entry, p) => {
    const full = ctx.outputVolume[p]!;
    const splitDim = splitDimOf(decisions[p]!, entry);
    entry.slices.forEach((slice, d) => {
      if (slice == null) return;
      taskAt[d]![p] = tasks[d]!.push(p) - 1;
      const fraction = full === 0 ? 1 : boxVolume(slice.outputs[0]!) / full;
      duration[d]!.push(sliceMs(opMs[d]![entry.index]!, fraction, overheads[d]!, splitDim));
      breakdown[d]!.flops += slice.flops;
    });
  });
  const sends = devices.map((_, d) => sendPositions(comm, d));
  overheads.forEach((o, d) => {
    if (o === null) return;
    for (const step of deviceSteps(ctx, slices, comm, d, sends[d]))
      duration[d]![taskAt[d]![step.positions[0]!]!]! += stepOverheadMs(o, step.boundaryBytes);
  });
  const pending: Int32Array[] = tasks.map((list) => new Int32Array(list.length));
  for (const m of messages)
    for (const delivery of m.deliveries) for (const p of delivery.readers) pending[delivery.device]![taskAt[delivery.device]![p]!]!++;
  const outbox: number[][] = Array.from({ length: n }, () => []);
  messages.forEach((m, id) => m.source !== ROUTER && outbox[m.source]!.push(id));
  const outboxCursor = new Array<number>(n).fill(0);

  const timeline: TimelineEvent[] = [];
  const queue = new EventQueue<Event>();
  const next = new Array<number>(n).fill(0);
  const computeBusy = new Array<boolean>(n).fill(false);
  // Each hop is booked when the message reaches it (events come in time order), so every channel serves its
  // messages first come first served; a message's delay is paid after its bytes left, overlapping other traffic.
  const net = network(cluster);
  let latencyMs = 0;
  let bytesMoved = 0;
  let deliveries = 0;

  const tryCompute = (d: number, now: number) => {
    const t = next[d]!;
    if (computeBusy[d] || t >= tasks[d]!.length || pending[d]![t]! > 0) return;
    computeBusy[d] = true;
    const end = now + duration[d]![t]!;
    breakdown[d]!.computeMs += duration[d]![t]!;
    if (keepTimeline)
      timeline.push({ device: d, lane: devices[d]!.name, kind: 'compute', startMs: now, endMs: end, op: ctx.order[tasks[d]![t]!]! });
    queue.push(end, { kind: 'compute', device: d, task: t });
  };
  const upload = (d: number, id: number, now: number) => {
    const m = messages[id]!;
    const sent = net.uplinks[d]!.send(now, m.uploadBytes);
    breakdown[d]!.sendMs += sent.sentMs - sent.startMs;
    breakdown[d]!.bytesSent += m.uploadBytes;
    if (keepTimeline)
      timeline.push({
        device: d,
        lane: devices[d]!.name,
        kind: 'send',
        startMs: sent.startMs,
        endMs: sent.sentMs,
        tensor: m.tensor,
        bytes: m.uploadBytes,
        peer: cluster.router.name,
      });
    queue.push(sent.arrivesMs, { kind: 'atRouter', message: id });
  };
  const forward = (id: number, now: number) => {
    const m = messages[id]!;
    const sent = net.forward.send(now, m.forwardBytes);
    if (keepTimeline)
      timeline.push({
        device: -1,
        lane: cluster.router.name,
        kind: 'forward',
        startMs: sent.startMs,
        endMs: sent.sentMs,
        tensor: m.tensor,
        bytes: m.forwardBytes,
      });
    queue.push(sent.arrivesMs, { kind: 'forwarded', message: id });
  };
  const download = (e: number, id: number, k: number, now: number) => {
    const m = messages[id]!;
    const delivery = m.deliveries[k]!;
    const sent = net.downlinks[e]!.send(now, delivery.bytes);
    breakdown[e]!.receiveMs += sent.sentMs - sent.startMs;
    breakdown[e]!.bytesReceived += delivery.bytes;
    if (keepTimeline)
      timeline.push({
        device: e,
        lane: devices[e]!.name,
        kind: 'receive',
        startMs: sent.startMs,
        endMs: sent.sentMs,
        tensor: m.tensor,
        bytes: delivery.bytes,
        peer: m.source === ROUTER ? cluster.router.name : devices[m.source]!.name,
      });
    queue.push(sent.arrivesMs, { kind: 'delivered', device: e, message: id, delivery: k });
  };

  messages.forEach((m, id) => m.source === ROUTER && queue.push(0, { kind: 'atRouter', message: id }));
  for (let d = 0; d < n; d++) tryCompute(d, 0);
  while (queue.size > 0) {
    const { time, item } = queue.pop();
    switch (item.kind) {
      case 'compute': {
        const d = item.device;
        const p = tasks[d]![item.task]!;
        computeBusy[d] = false;
        next[d]!++;
        const box = outbox[d]!;
        let cursor = outboxCursor[d]!;
        while (cursor < box.length && messages[box[cursor]!]!.producer === p) upload(d, box[cursor++]!, time);
        outboxCursor[d] = cursor;
        latencyMs = Math.max(latencyMs, time);
        tryCompute(d, time);
        break;
      }
      case 'atRouter': {
        const m = messages[item.message]!;
        for (const delivery of m.deliveries) {
          if (delivery.device !== ROUTER) continue;
          latencyMs = Math.max(latencyMs, time);
          bytesMoved += delivery.bytes;
          deliveries++;
        }
        if (m.deliveries.some((d) => d.device !== ROUTER)) forward(item.message, time);
        break;
      }
      case 'forwarded': {
        messages[item.message]!.deliveries.forEach((delivery, k) => {
          if (delivery.device !== ROUTER) download(delivery.device, item.message, k, time);
        });
        break;
      }
      case 'delivered': {
        const e = item.device;
        bytesMoved += messages[item.message]!.deliveries[item.delivery]!.bytes;
        deliveries++;
        for (const p of messages[item.message]!.deliveries[item.delivery]!.readers) pending[e]![taskAt[e]![p]!]!--;
        tryCompute(e, time);
        break;
      }
    }
  }
  for (let d = 0; d < n; d++) {
    if (next[d]! < tasks[d]!.length)
      throw new Error(`simulation stalled: device ${devices[d]!.name} never ran '${ctx.order[tasks[d]![next[d]!]!]}'`);
  }
  const devicePeakBytes: number[] = [];
  const violations: SimulationResult['violations'] = [];
  for (let d = 0; d < n; d++) {
    const memory = deviceMemory(ctx, slices, comm, d, sends[d]!);
    const b = breakdown[d]!;
    b.weightBytes = memory.weightBytes;
    b.activationPeakBytes = memory.activationPeakBytes;
    b.idleMs = latencyMs - b.computeMs;
    const peak = memory.weightBytes + memory.activationPeakBytes;
    devicePeakBytes.push(peak);
    const limit = deviceMemoryBytes(devices[d]!);
    if (peak > limit) violations.push({ device: d, deviceName: devices[d]!.name, peakBytes: peak, limitBytes: limit });
  }
  if (keepTimeline) {
    for (let d = 0; d < n; d++) {
      const busy = timeline.filter((e) => e.device === d && e.kind === 'compute').sort((a, b) => a.startMs - b.startMs);
      let at = 0;
      for (const e of [...busy, { startMs: latencyMs, endMs: latencyMs }]) {
        if (e.startMs > at) timeline.push({ device: d, lane: devices[d]!.name, kind: 'idle', startMs: at, endMs: e.startMs });
        at = Math.max(at, e.endMs);
      }
    }
  }
  const result: Omit<SimulationResult, 'lowerBoundMs' | 'lowerBound'> = {
    latencyMs,
    feasible: violations.length === 0,
    devicePeakBytes,
    violations,
    devices: breakdown,
    bytesMoved,
    messages: deliveries,
  };
  if (keepTimeline) result.timeline = timeline;
  return result;
}
