import type { Cluster, ExecutionOverheads } from '../cluster/types.ts';
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
import { deviceMemory } from './memory.ts';
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
  /**
   * The predicted compute of every step (simulate/steps.ts) of every device, [device][step], in the order of
   * deviceSteps (the runtime's program steps): Σ over a device's steps is its `computeMs` in `run`'s result.
   */
  steps(decisions: readonly OpDecision[]): StepCompute[][];
}

/** One step's predicted compute (docs/latency.md, "Steps"): its slices' times plus the step's overhead. */
export interface StepCompute {
  /** Plan positions of the step's slices (DeviceStep.positions). */
  positions: number[];
  /** Σ of its slices' times (a sub-tile: its own parts of the stretch's operators). */
  slicesMs: number;
  /** stepOverheadMs on its boundary bytes (0 without overheads). */
  overheadMs: number;
  /** slicesMs + overheadMs. */
  ms: number;
}

export function createSimulator(model: Model, cluster: Cluster, order: readonly string[]): Simulator {
  const context = partitionContext(model, order);
  const fingerprint = modelFingerprint(model);
  const opMs = opTimeTable(cluster.devices, model, fingerprint);
  const bound = lowerBound(context, cluster, opMs);
  const boundMs = lowerBoundMs(bound);
  const deviceCount = cluster.devices.length;
  const scratch = runScratch(cluster, context.order.length);
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
    steps(decisions) {
      checkDecisions(context, decisions, deviceCount);
      const slices = planSlices(context, decisions, deviceCount);
      const comm = communication(context, slices, cluster);
      return cluster.devices.map((_, d) => stepTimes(context, opMs, decisions, slices, comm, scratch.overheads[d]!, d));
    },
    run(decisions, options = {}) {
      if (options.trusted !== true) checkDecisions(context, decisions, deviceCount);
      const slices = planSlices(context, decisions, deviceCount);
      const comm = communication(context, slices, cluster);
      const result = runEvents(context, cluster, opMs, decisions, slices, comm, options.timeline ?? true, scratch);
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

/** The predicted compute of each step of a device under a plan (plan: the plan's own cluster): Simulator.steps. */
export function simulateSteps(model: Model, cluster: Cluster, plan: Plan): StepCompute[][] {
  if (cluster.devices.length !== plan.cluster.devices.length) {
    fail(`plan is for ${plan.cluster.devices.length} devices, cluster '${cluster.name}' has ${cluster.devices.length}`, 'invalid-plan');
  }
  return createSimulator(model, cluster, plan.order).steps(plan.ops);
}

/**
 * A slice's time: the whole operator's ms × `volume` / the operator's output volume (its share of the output
 * elements), with the split penalty. What runEvents charges a task and stepTimes a step's slices.
 */
function sliceTime(
  ctx: PartitionContext,
  opMs: number[][],
  decisions: readonly OpDecision[],
  slices: PlanSlices,
  overheads: ExecutionOverheads | null,
  d: number,
  p: number,
  volume: number,
): number {
  const entry = slices.ops[p]!;
  const full = ctx.outputVolume[p]!;
  return sliceMs(opMs[d]![entry.index]!, full === 0 ? 1 : volume / full, overheads, splitDimOf(decisions[p]!, entry));
}

/** Device d's steps with their predicted compute: each slice (or sub-tile part) timed as runEvents times it. */
function stepTimes(
  ctx: PartitionContext,
  opMs: number[][],
  decisions: readonly OpDecision[],
  slices: PlanSlices,
  comm: Communication,
  overheads: ExecutionOverheads | null,
  d: number,
): StepCompute[] {
  return deviceSteps(ctx, slices, comm, d).map((step) => {
    const stretch = step.tile === undefined ? undefined : slices.tiled![step.tile.stretch]!;
    const tile = stretch === undefined ? undefined : stretch.devices[d]![step.tile!.tile]!;
    let slicesMs = 0;
    for (const p of step.positions) {
      const slice = tile === undefined ? slices.ops[p]!.slices[d]! : tile[stretch!.positions.indexOf(p)]!;
      slicesMs += sliceTime(ctx, opMs, decisions, slices, overheads, d, p, boxVolume(slice.outputs[0]!));
    }
    const overheadMs = overheads === null ? 0 : stepOverheadMs(overheads, step.boundaryBytes);
    return { positions: step.positions, slicesMs, overheadMs, ms: slicesMs + overheadMs };
  });
}

/**
 * How runEvents runs a plan's tiled stretches: the task order (each stretch's fused operators moved to just before
 * its sink), per position its stretch (-1: none) and its index in the stretch's positions, and per (device, position) the task a delivery to it waits on
 * (the stretch's first task on the device for its operators; filled in while tasks are made).
 */
function tiledRun(ctx: PartitionContext, slices: PlanSlices, n: number) {
  const positions = ctx.order.length;
  const stretches = slices.tiled!;
  const stretchOf = new Int32Array(positions).fill(-1);
  const indexIn = new Int32Array(positions);
  stretches.forEach((stretch, i) => {
    stretch.positions.forEach((p, k) => {
      stretchOf[p] = i;
      indexIn[p] = k;
    });
  });
  const order = new Int32Array(positions);
  let k = 0;
  for (let p = 0; p < positions; p++) {
    const i = stretchOf[p]!;
    if (i < 0) order[k++] = p;
    else if (stretches[i]!.sink === p) for (const q of stretches[i]!.positions) order[k++] = q;
  }
  return {
    order,
    stretchOf,
    indexIn,
    stretches: stretches.length,
    firstTask: new Int32Array(n * stretches.length).fill(-1),
    waitAt: new Int32Array(n * positions),
  };
}

/**
 * What runEvents reuses from one run to the next of a simulator: per cluster facts, and per-(device, task) scratch
 * arrays indexed d × positions + t (a run overwrites what it reads).
 */
interface RunScratch {
  overheads: Array<ExecutionOverheads | null>;
  limits: number[];
  taskAt: Int32Array;
  taskPosition: Int32Array;
  duration: Float64Array;
  pending: Int32Array;
  sent: Uint8Array;
}

function runScratch(cluster: Cluster, positions: number): RunScratch {
  const cells = cluster.devices.length * positions;
  return {
    overheads: cluster.devices.map(deviceOverheads),
    limits: cluster.devices.map(deviceMemoryBytes),
    taskAt: new Int32Array(cells),
    taskPosition: new Int32Array(cells),
    duration: new Float64Array(cells),
    pending: new Int32Array(cells),
    sent: new Uint8Array(cells),
  };
}

// Events are numbers, kind in the low two bits: a device's compute finishing (device), a message at the router or
// forwarded (message id), a delivery arriving (message id × DELIVERY_SLOTS + delivery index).
const COMPUTE = 0;
const AT_ROUTER = 1;
const FORWARDED = 2;
const DELIVERED = 3;

function runEvents(
  ctx: PartitionContext,
  cluster: Cluster,
  opMs: number[][],
  decisions: readonly OpDecision[],
  slices: PlanSlices,
  comm: Communication,
  keepTimeline: boolean,
  scratch: RunScratch,
): Omit<SimulationResult, 'lowerBoundMs' | 'lowerBound'> {
  const devices = cluster.devices;
  const n = devices.length;
  const positions = ctx.order.length;
  const { messages } = comm;
  const { overheads, taskAt, taskPosition: tasks, duration, pending } = scratch;
  // Per device: its slices in order (at d × positions + t), with their duration and the deliveries each waits for.
  const taskCount = new Int32Array(n);
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
  // Tiled stretches (docs/latency.md, "Tiled stretches"): their fused operators run just before their sink, each
  // taking its sub-tiles' summed time and FLOPs, and the first waits for everything the stretch receives.
  const tiled = slices.tiled === undefined ? null : tiledRun(ctx, slices, n);
  const waitAt = tiled === null ? taskAt : tiled.waitAt;
  for (let i = 0; i < positions; i++) {
    const p = tiled === null ? i : tiled.order[i]!;
    const entry = slices.ops[p]!;
    for (let d = 0; d < n; d++) {
      const slice = entry.slices[d];
      if (slice == null) continue;
      const t = taskCount[d]!++;
      const cell = d * positions + t;
      taskAt[d * positions + p] = t;
      tasks[cell] = p;
      pending[cell] = 0;
      const sub = tiled === null ? -1 : tiled.stretchOf[p]!;
      if (sub < 0) {
        duration[cell] = sliceTime(ctx, opMs, decisions, slices, overheads[d]!, d, p, boxVolume(slice.outputs[0]!));
        breakdown[d]!.flops += slice.flops;
        if (tiled !== null) tiled.waitAt[d * positions + p] = t;
        continue;
      }
      const first = d * tiled!.stretches + sub;
      if (tiled!.firstTask[first]! < 0) tiled!.firstTask[first] = t;
      tiled!.waitAt[d * positions + p] = tiled!.firstTask[first]!;
      const stretch = slices.tiled![sub]!;
      const at = tiled!.indexIn[p]!;
      let volume = 0;
      for (const tile of stretch.devices[d] ?? []) {
        const part = tile[at];
        if (part == null) continue;
        volume += boxVolume(part.outputs[0]!);
        breakdown[d]!.flops += part.flops;
      }
      duration[cell] = sliceTime(ctx, opMs, decisions, slices, overheads[d]!, d, p, volume);
    }
  }
  // sent[d × positions + p] = 1 when device d uploads after its slice at p.
  const sent = scratch.sent.fill(0);
  for (const m of messages) if (m.source !== ROUTER) sent[m.source * positions + m.producer] = 1;
  overheads.forEach((o, d) => {
    if (o === null) return;
    for (const step of deviceSteps(ctx, slices, comm, d))
      duration[d * positions + taskAt[d * positions + step.positions[0]!]!]! += stepOverheadMs(o, step.boundaryBytes);
  });
  const deliverySlots = n + 1;
  const outbox: number[][] = [];
  for (let d = 0; d < n; d++) outbox.push([]);
  for (let id = 0; id < messages.length; id++) {
    const m = messages[id]!;
    if (m.deliveries.length > deliverySlots) throw new Error(`message ${m.tensor} has more deliveries than receivers`);
    if (m.source !== ROUTER) outbox[m.source]!.push(id);
    for (const delivery of m.deliveries) {
      const e = delivery.device;
      for (const p of delivery.readers) pending[e * positions + waitAt[e * positions + p]!]!++;
    }
  }
  const outboxCursor = new Int32Array(n);

  const timeline: TimelineEvent[] = [];
  const queue = new EventQueue<number>();
  const next = new Int32Array(n);
  const computeBusy = new Uint8Array(n);
  // Each hop is booked when the message reaches it (events come in time order), so every channel serves its
  // messages first come first served; a message's delay is paid after its bytes left, overlapping other traffic.
  const net = network(cluster);
  let latencyMs = 0;
  let bytesMoved = 0;
  let deliveries = 0;

  const tryCompute = (d: number, now: number) => {
    const t = next[d]!;
    const cell = d * positions + t;
    if (computeBusy[d] === 1 || t >= taskCount[d]! || pending[cell]! > 0) return;
    computeBusy[d] = 1;
    const end = now + duration[cell]!;
    breakdown[d]!.computeMs += duration[cell]!;
    if (keepTimeline)
      timeline.push({ device: d, lane: devices[d]!.name, kind: 'compute', startMs: now, endMs: end, op: ctx.order[tasks[cell]!]! });
    queue.push(end, d * 4 + COMPUTE);
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
    queue.push(sent.arrivesMs, id * 4 + AT_ROUTER);
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
    queue.push(sent.arrivesMs, id * 4 + FORWARDED);
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
    queue.push(sent.arrivesMs, (id * deliverySlots + k) * 4 + DELIVERED);
  };

  for (let id = 0; id < messages.length; id++) if (messages[id]!.source === ROUTER) queue.push(0, id * 4 + AT_ROUTER);
  for (let d = 0; d < n; d++) tryCompute(d, 0);
  while (queue.size > 0) {
    const time = queue.peekTime();
    const event = queue.pop();
    const kind = event % 4;
    const payload = (event - kind) / 4;
    if (kind === COMPUTE) {
      const d = payload;
      const p = tasks[d * positions + next[d]!]!;
      computeBusy[d] = 0;
      next[d]!++;
      const box = outbox[d]!;
      let cursor = outboxCursor[d]!;
      while (cursor < box.length && messages[box[cursor]!]!.producer === p) upload(d, box[cursor++]!, time);
      outboxCursor[d] = cursor;
      latencyMs = Math.max(latencyMs, time);
      tryCompute(d, time);
    } else if (kind === AT_ROUTER) {
      const m = messages[payload]!;
      let toDevices = false;
      for (const delivery of m.deliveries) {
        if (delivery.device !== ROUTER) {
          toDevices = true;
          continue;
        }
        latencyMs = Math.max(latencyMs, time);
        bytesMoved += delivery.bytes;
        deliveries++;
      }
      if (toDevices) forward(payload, time);
    } else if (kind === FORWARDED) {
      const list = messages[payload]!.deliveries;
      for (let k = 0; k < list.length; k++) if (list[k]!.device !== ROUTER) download(list[k]!.device, payload, k, time);
    } else {
      const k = payload % deliverySlots;
      const delivery = messages[(payload - k) / deliverySlots]!.deliveries[k]!;
      const e = delivery.device;
      bytesMoved += delivery.bytes;
      deliveries++;
      for (const p of delivery.readers) pending[e * positions + waitAt[e * positions + p]!]!--;
      tryCompute(e, time);
    }
  }
  for (let d = 0; d < n; d++) {
    if (next[d]! < taskCount[d]!)
      throw new Error(`simulation stalled: device ${devices[d]!.name} never ran '${ctx.order[tasks[d * positions + next[d]!]!]}'`);
  }
  const devicePeakBytes: number[] = [];
  const violations: SimulationResult['violations'] = [];
  for (let d = 0; d < n; d++) {
    const memory = deviceMemory(ctx, slices, comm, d, sent.subarray(d * positions, (d + 1) * positions));
    const b = breakdown[d]!;
    b.weightBytes = memory.weightBytes;
    b.activationPeakBytes = memory.activationPeakBytes;
    b.idleMs = latencyMs - b.computeMs;
    const peak = memory.weightBytes + memory.activationPeakBytes;
    devicePeakBytes.push(peak);
    const limit = scratch.limits[d]!;
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
