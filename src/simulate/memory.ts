import type { MemoryGraph } from '../memory/graph.ts';
import { evaluateOrder } from '../memory/model.ts';
import { boxVolume, hull } from '../partition/box.ts';
import type { PartitionContext } from '../partition/context.ts';
import type { Box, PlanSlices } from '../partition/types.ts';
import type { Communication } from './comm.ts';

export interface DeviceMemory {
  /** Bytes of the weight slices the device holds (each weight's hull over its slices, counted once). */
  weightBytes: number;
  /** Peak live activation bytes under the memory model (docs/memory.md) over the device's own steps. */
  activationPeakBytes: number;
}

/**
 * A device's memory (docs/latency.md, "Memory"): its weight slices, plus the peak of its live activations when
 * its steps run in plan order. Steps are its operator slices, a receive step before the first slice that reads
 * an assembled tensor (the buffer into which remote pieces and its own slice are gathered), and a send step after
 * each slice whose output leaves the device (so the buffer lives until it is sent). Sizes are region volumes.
 */
export function deviceMemory(
  ctx: PartitionContext,
  slices: PlanSlices,
  comm: Communication,
  device: number,
  sendsAfter: ReadonlySet<number>,
): DeviceMemory {
  const tensorNames: string[] = [];
  const tensorBytes: number[] = [];
  const ops: MemoryGraph['ops'] = [];
  const local = new Map<string, number>();
  const gathered = new Map<string, number>();
  const weights = new Map<string, Box>();
  let weightBytes = 0;
  const assembled = comm.assembled[device]!;
  const bytesOf = (tensor: string, box: Box): number => Math.ceil(boxVolume(box) * ctx.elementBytes.get(tensor)!);
  const addTensor = (name: string, bytes: number): number => {
    tensorBytes.push(bytes);
    return tensorNames.push(name) - 1;
  };
  for (let p = 0; p < slices.ops.length; p++) {
    const entry = slices.ops[p]!;
    const slice = entry.slices[device];
    if (slice == null) continue;
    const node = ctx.model.ops[entry.index]!.node;
    const inputs: number[] = [];
    for (let j = 0; j < node.inputs.length; j++) {
      const tensor = node.inputs[j]!;
      const box = slice.inputs[j];
      if (tensor === '' || box == null) continue;
      const weightReaders = ctx.weightReaders.get(tensor);
      if (weightReaders !== undefined) {
        if (weightReaders === 1) weightBytes += bytesOf(tensor, box);
        else weights.set(tensor, hull(weights.get(tensor) ?? null, box) ?? box);
        continue;
      }
      let id: number | undefined;
      const region = assembled.get(tensor);
      if (region !== undefined) {
        id = gathered.get(tensor);
        if (id === undefined) {
          id = addTensor(tensor, bytesOf(tensor, region));
          gathered.set(tensor, id);
          const own = local.get(tensor);
          ops.push({ name: 'receive', inputs: own === undefined ? [] : [own], outputs: [id], behaviour: 'normal' });
        }
      } else id = local.get(tensor);
      if (id !== undefined && !inputs.includes(id)) inputs.push(id);
    }
    const outputs: number[] = [];
    for (let k = 0; k < node.outputs.length; k++) {
      const tensor = node.outputs[k]!;
      const id = addTensor(tensor, tensor === '' ? 0 : bytesOf(tensor, slice.outputs[k]!));
      if (tensor !== '') local.set(tensor, id);
      outputs.push(id);
    }
    const memory = ctx.model.ops[entry.index]!.memory;
    ops.push({ name: node.name, inputs, outputs, behaviour: memory === 'alias' && inputs.length === 0 ? 'normal' : memory });
    if (sendsAfter.has(p)) ops.push({ name: 'send', inputs: outputs, outputs: [], behaviour: 'normal' });
  }
  if (ops.length === 0) return { weightBytes: 0, activationPeakBytes: 0 };
  for (const [tensor, box] of weights) weightBytes += bytesOf(tensor, box);
  const graph: MemoryGraph = { tensorNames, tensorBytes, ops, graphInputs: [], graphOutputs: [] };
  const profile = evaluateOrder(
    graph,
    ops.map((_, i) => i),
  );
  return { weightBytes, activationPeakBytes: profile.peakBytes };
}

/** Positions whose slice on `device` is followed by an upload (its output is needed elsewhere or is a graph output). */
export function sendPositions(comm: Communication, device: number): Set<number> {
  const positions = new Set<number>();
  for (const message of comm.messages) if (message.source === device) positions.add(message.producer);
  return positions;
}
