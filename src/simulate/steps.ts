import { boxVolume } from '../partition/box.ts';
import type { PartitionContext } from '../partition/context.ts';
import type { Box, PlanSlices } from '../partition/types.ts';
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
  const steps: Array<DeviceStep & { reads: Set<string>; fed: Set<string>; made: Map<string, Box>; sent: Set<string> }> = [];
  let current: (typeof steps)[number] | null = null;
  const sentTensors = new Map<number, string[]>();
  for (const m of comm.messages) {
    if (m.source !== d) continue;
    const list = sentTensors.get(m.producer);
    if (list === undefined) sentTensors.set(m.producer, [m.tensor]);
    else list.push(m.tensor);
  }
  slices.ops.forEach((entry, p) => {
    const slice = entry.slices[d];
    if (slice == null) return;
    const node = model.ops[entry.index]!.node;
    const toGather = [...new Set(node.inputs)].filter((tensor) => tensor !== '' && !gathered.has(tensor) && assembled.has(tensor));
    if (current === null || toGather.length > 0) {
      current = { positions: [], gathers: [], boundaryBytes: 0, reads: new Set(), fed: new Set(), made: new Map(), sent: new Set() };
      steps.push(current);
    }
    for (const tensor of toGather) {
      gathered.add(tensor);
      current.gathers.push(tensor);
      current.reads.add(tensor);
    }
    current.positions.push(p);
    node.inputs.forEach((tensor, j) => {
      if (tensor === '' || slice.inputs[j] == null || ctx.weightReaders.has(tensor)) return;
      current!.reads.add(tensor);
      if (!current!.made.has(tensor)) current!.fed.add(tensor);
    });
    node.outputs.forEach((tensor, k) => tensor !== '' && current!.made.set(tensor, slice.outputs[k]!));
    if (sends.has(p)) {
      for (const tensor of sentTensors.get(p) ?? []) current.sent.add(tensor);
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
      held.set(tensor, box);
      if (laterReads[s]!.has(tensor) || step.sent.has(tensor)) bytes += bytesOf(tensor, box);
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
  return parts > 1 ? placement.dim : null;
}
