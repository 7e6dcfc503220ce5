import { boxVolume } from '../partition/box.ts';
import type { PartitionContext } from '../partition/context.ts';
import type { Node } from '../ir/graph.ts';
import type { Box, OpSlice, PlanSlices, TiledStretch } from '../partition/types.ts';
import type { OpDecision, SplitDim } from '../partition/types.ts';
import type { Communication } from './comm.ts';
import { sendPositions } from './memory.ts';

/**
 * One step of a device: a stretch of its slices with no communication inside, which the runtime runs as one ONNX
 * sub-model (docs/latency.md, "Steps"). A step starts where the device must first gather a tensor assembled from
 * remote pieces and ends after a slice whose output leaves the device.
 */
export interface DeviceStep {
  /** Plan positions of the device's slices in the step, in plan order. */
  positions: number[];
  /** Tensors gathered from remote pieces before the step runs, in the order its slices first read them. */
  gathers: string[];
  /**
   * Bytes crossing the step's border: every region fed into its sub-model (each tensor it reads and did not
   * compute itself: the region the device holds of it) plus every region it hands out (tensors it computes that
   * a later step reads or that are uploaded).
   */
  boundaryBytes: number;
  /**
   * A sub-tile of a tiled stretch (docs/latency.md, "Tiled stretches"): `slices.tiled[stretch].devices[d][tile]` are
   * its slices (`positions` lists those it computes). It hands out its part of the sink, written into the region of
   * it the device allocates before the stretch's first sub-tile.
   */
  tile?: { stretch: number; tile: number };
}

/** The steps of device `d` under a plan: the one definition the runtime's programs and the simulator share. */
export function deviceSteps(
  ctx: PartitionContext,
  slices: PlanSlices,
  comm: Communication,
  d: number,
  sends: ReadonlySet<number> = sendPositions(comm, d),
): DeviceStep[] {
  const model = ctx.model;
  const assembled = comm.assembled[d]!;
  const gathered = new Set<string>();
  type Building = DeviceStep & { reads: Set<string>; fed: Set<string>; made: Map<string, Box>; sent: Set<string>; handsOut?: boolean };
  const steps: Building[] = [];
  let current: Building | null = null;
  const sentTensors = new Map<number, string[]>();
  for (const m of comm.messages) {
    if (m.source !== d) continue;
    const list = sentTensors.get(m.producer);
    if (list === undefined) sentTensors.set(m.producer, [m.tensor]);
    else list.push(m.tensor);
  }
  const newStep = () => {
    current = { positions: [], gathers: [], boundaryBytes: 0, reads: new Set(), fed: new Set(), made: new Map(), sent: new Set() };
    steps.push(current);
    return current;
  };
  const gather = (step: (typeof steps)[number], node: Node) => {
    for (const tensor of node.inputs) {
      if (tensor === '' || gathered.has(tensor) || !assembled.has(tensor)) continue;
      gathered.add(tensor);
      step.gathers.push(tensor);
      step.reads.add(tensor);
    }
  };
  const add = (step: (typeof steps)[number], p: number, slice: OpSlice, inside?: ReadonlySet<number>) => {
    const node = model.ops[slices.ops[p]!.index]!.node;
    step.positions.push(p);
    node.inputs.forEach((tensor, j) => {
      if (tensor === '' || slice.inputs[j] == null || ctx.weightReaders.has(tensor)) return;
      const source = ctx.producers[p]![j];
      if (inside !== undefined && source != null && inside.has(source.position)) return;
      step.reads.add(tensor);
      if (!step.made.has(tensor)) step.fed.add(tensor);
    });
    if (inside === undefined) node.outputs.forEach((tensor, k) => tensor !== '' && step.made.set(tensor, slice.outputs[k]!));
  };
  const stretchOf = new Map<number, TiledStretch>();
  for (const stretch of slices.tiled ?? []) for (const q of stretch.positions) stretchOf.set(q, stretch);
  slices.ops.forEach((entry, p) => {
    const slice = entry.slices[d];
    if (slice == null) return;
    const stretch = stretchOf.get(p);
    if (stretch !== undefined) {
      if (stretch.sink !== p) return;
      // A tiled stretch, at its sink's place: one step per sub-tile; the first gathers all the stretch receives.
      const inside = new Set(stretch.positions);
      const sink = model.ops[entry.index]!.node.outputs[0]!;
      (stretch.devices[d] ?? []).forEach((tile, t) => {
        const step = newStep();
        step.tile = { stretch: slices.tiled!.indexOf(stretch), tile: t };
        stretch.positions.forEach((q, i) => {
          const part = tile[i];
          if (part == null) return;
          if (t === 0) gather(step, model.ops[slices.ops[q]!.index]!.node);
          add(step, q, part, inside);
        });
        // What a sub-tile hands out is its part of the sink, written into the device's region of it.
        step.made.set(sink, tile[tile.length - 1]!.outputs[0]!);
        step.handsOut = true;
      });
      const last = steps[steps.length - 1]!;
      if (sends.has(p)) for (const tensor of sentTensors.get(p) ?? []) last.sent.add(tensor);
      current = null;
      return;
    }
    const node = model.ops[entry.index]!.node;
    let needs = false;
    for (const tensor of node.inputs) if (tensor !== '' && !gathered.has(tensor) && assembled.has(tensor)) needs = true;
    const step = current === null || needs ? newStep() : current;
    gather(step, node);
    add(step, p, slice);
    if (sends.has(p)) {
      for (const tensor of sentTensors.get(p) ?? []) step.sent.add(tensor);
      current = null;
    }
  });
  // Regions as the device holds them: a tensor's own slice until it is gathered, the assembled region after.
  const held = new Map<string, Box>();
  const bytesOf = (tensor: string, box: Box) => Math.ceil(boxVolume(box) * ctx.elementBytes.get(tensor)!);
  const laterReads: Array<Set<string>> = new Array(steps.length);
  let later = new Set<string>();
  for (let s = steps.length - 1; s >= 0; s--) {
    laterReads[s] = later;
    later = new Set([...later, ...steps[s]!.reads]);
  }
  return steps.map((step, s) => {
    for (const tensor of step.gathers) held.set(tensor, assembled.get(tensor)!);
    let bytes = 0;
    for (const tensor of step.fed) {
      const box = held.get(tensor);
      if (box !== undefined) bytes += bytesOf(tensor, box);
    }
    for (const [tensor, box] of step.made) {
      if (step.handsOut === true) {
        bytes += bytesOf(tensor, box);
        continue;
      }
      held.set(tensor, box);
      if (laterReads[s]!.has(tensor) || step.sent.has(tensor)) bytes += bytesOf(tensor, box);
    }
    if (step.tile !== undefined) {
      // After a stretch's sub-tiles the device holds its whole region of the sink.
      const stretch = slices.tiled![step.tile.stretch]!;
      const sink = slices.ops[stretch.sink]!;
      held.set(model.ops[sink.index]!.node.outputs[0]!, sink.slices[d]!.outputs[0]!);
      return { positions: step.positions, gathers: step.gathers, boundaryBytes: bytes, tile: step.tile };
    }
    return { positions: step.positions, gathers: step.gathers, boundaryBytes: bytes };
  });
}

/** The dim an operator is split along over several devices (what splitPenalty is charged for), or null. */
export function splitDimOf(decision: OpDecision, entry: PlanSlices['ops'][number]): SplitDim | null {
  const placement = decision.placement;
  if (!('dim' in placement)) return null;
  let parts = 0;
  for (const slice of entry.slices) if (slice != null) parts++;
  // A grid cuts rows and columns: it is charged as a rows split.
  return parts > 1 ? (placement.dim === 'grid' ? 'rows' : placement.dim) : null;
}
