import type { MemoryBehaviour } from '../ir/graph.ts';
import { SequenceMemory } from '../memory/sequence.ts';
import { boxVolume, hull } from '../partition/box.ts';
import type { PartitionContext } from '../partition/context.ts';
import type { Box, PlanSlices, TiledStretch } from '../partition/types.ts';
import { emitTiles } from '../memory/tiled.ts';
import type { Communication } from './comm.ts';

export interface DeviceMemory {
  /** Bytes of the weight slices the device holds (each weight's hull over its slices, counted once). */
  weightBytes: number;
  /** Peak live activation bytes under the memory model (docs/memory.md) over the device's own steps. */
  activationPeakBytes: number;
}

/**
 * Per operator input: the activation's number in the context (>= 0), an omitted input (NONE), a weight read by one
 * operator input (WEIGHT), or SHARED - w for shared weight number w (its bytes are those of the hull of its slices).
 */
const NONE = -1;
const WEIGHT = -2;
const SHARED = -3;

/** What deviceMemory needs of a context, numbered once so a run indexes typed arrays instead of Maps of names. */
interface MemoryLayout {
  /** Per position, per node input: see NONE, WEIGHT, SHARED. */
  inputIds: Int32Array[];
  inputBytes: Float64Array[];
  /** Per position, per node output: bytes per element (0 for an omitted output, whose name is ''). */
  outputBytes: Float64Array[];
  outputIds: Int32Array[];
  behaviour: MemoryBehaviour[];
  /** Per activation number, for the current run: its tensor number in `sequence` (valid when stamp = run). */
  /** Activation number of each tensor name. */
  activation: Map<string, number>;
  local: Int32Array;
  localStamp: Int32Array;
  assembledBox: Array<Box | null>;
  assembledStamp: Int32Array;
  gathered: Int32Array;
  gatheredStamp: Int32Array;
  /** Per shared weight: the hull of the device's slices of it, bytes per element; the run's weights touched. */
  weightHull: Array<Box | null>;
  weightBytes: Float64Array;
  shared: Int32Array;
  run: number;
  sequence: SequenceMemory;
  inputs: Int32Array;
}

const layouts = new WeakMap<PartitionContext, MemoryLayout>();

function memoryLayout(ctx: PartitionContext): MemoryLayout {
  let layout = layouts.get(ctx);
  if (layout !== undefined) return layout;
  const ids = new Map<string, number>();
  const idOf = (tensor: string): number => {
    let id = ids.get(tensor);
    if (id === undefined) ids.set(tensor, (id = ids.size));
    return id;
  };
  const weightIds = new Map<string, number>();
  const nodes = ctx.opIndex.map((index) => ctx.model.ops[index]!.node);
  let maxInputs = 0;
  const inputIds = nodes.map((node) => {
    maxInputs = Math.max(maxInputs, node.inputs.length);
    return Int32Array.from(node.inputs, (tensor) => {
      if (tensor === '') return NONE;
      const readers = ctx.weightReaders.get(tensor);
      if (readers === 1) return WEIGHT;
      if (readers !== undefined) {
        if (!weightIds.has(tensor)) weightIds.set(tensor, weightIds.size);
        return SHARED - weightIds.get(tensor)!;
      }
      return idOf(tensor);
    });
  });
  const outputIds = nodes.map((node) => Int32Array.from(node.outputs, (tensor) => (tensor === '' ? NONE : idOf(tensor))));
  const count = ids.size;
  layout = {
    inputIds,
    inputBytes: nodes.map((node) => Float64Array.from(node.inputs, (tensor) => (tensor === '' ? 0 : ctx.elementBytes.get(tensor)!))),
    outputBytes: nodes.map((node) => Float64Array.from(node.outputs, (tensor) => (tensor === '' ? 0 : ctx.elementBytes.get(tensor)!))),
    outputIds,
    behaviour: ctx.opIndex.map((index) => ctx.model.ops[index]!.memory),
    activation: ids,
    local: new Int32Array(count),
    localStamp: new Int32Array(count).fill(-1),
    assembledBox: new Array<Box | null>(count).fill(null),
    assembledStamp: new Int32Array(count).fill(-1),
    gathered: new Int32Array(count),
    gatheredStamp: new Int32Array(count).fill(-1),
    weightHull: new Array<Box | null>(weightIds.size).fill(null),
    weightBytes: Float64Array.from(weightIds.keys(), (tensor) => ctx.elementBytes.get(tensor)!),
    shared: new Int32Array(weightIds.size),
    run: 0,
    sequence: new SequenceMemory(),
    inputs: new Int32Array(maxInputs),
  };
  layouts.set(ctx, layout);
  return layout;
}

/**
 * A device's memory (docs/latency.md, "Memory"): its weight slices, plus the peak of its live activations when
 * its steps run in plan order. Steps are its operator slices, a receive step before the first slice that reads
 * an assembled tensor (the buffer into which remote pieces and its own slice are gathered), and a send step after
 * each slice whose output leaves the device (so the buffer lives until it is sent; sendsAfter[p] = 1 after the
 * slice at p). Sizes are region volumes.
 */
export function deviceMemory(
  ctx: PartitionContext,
  slices: PlanSlices,
  comm: Communication,
  device: number,
  sendsAfter: Uint8Array,
): DeviceMemory {
  const layout = memoryLayout(ctx);
  const run = ++layout.run;
  const { local, localStamp, gathered, gatheredStamp, weightHull, sequence, inputs } = layout;
  sequence.reset();
  let sharedCount = 0;
  let weightBytes = 0;
  let steps = 0;
  // The device's assembled regions by activation number (valid where assembledStamp = run).
  const { assembledBox, assembledStamp } = layout;
  for (const [tensor, box] of comm.assembled[device]!) {
    const id = layout.activation.get(tensor);
    if (id === undefined) continue;
    assembledBox[id] = box;
    assembledStamp[id] = run;
  }
  // Tiled stretches (docs/memory.md, "Tiled stretches on a cluster"): their fused operators run at the sink's place.
  const tiled = slices.tiled === undefined ? null : tiledAt(slices);
  for (let p = 0; p < slices.ops.length; p++) {
    const slice = slices.ops[p]!.slices[device];
    if (slice == null) continue;
    steps++;
    if (tiled !== null) {
      const stretch = tiled.get(p);
      if (stretch !== undefined) {
        if (stretch.sink === p) {
          const touched: number[] = [];
          weightBytes += runStretch(ctx, layout, slices, stretch, device, run, sendsAfter[p] === 1, touched);
          for (const w of touched) layout.shared[sharedCount++] = w;
        }
        continue;
      }
    }
    const inputIds = layout.inputIds[p]!;
    const inputBytes = layout.inputBytes[p]!;
    let inputCount = 0;
    for (let j = 0; j < inputIds.length; j++) {
      const id = inputIds[j]!;
      const box = slice.inputs[j];
      if (id === NONE || box == null) continue;
      if (id === WEIGHT) {
        weightBytes += Math.ceil(boxVolume(box) * inputBytes[j]!);
        continue;
      }
      if (id <= SHARED) {
        const w = SHARED - id;
        const before = weightHull[w]!;
        if (before === null) layout.shared[sharedCount++] = w;
        weightHull[w] = hull(before, box) ?? box;
        continue;
      }
      let tensor = -1;
      if (assembledStamp[id] === run) {
        const region = assembledBox[id]!;
        if (gatheredStamp[id] === run) tensor = gathered[id]!;
        else {
          tensor = sequence.tensor(Math.ceil(boxVolume(region) * inputBytes[j]!));
          gathered[id] = tensor;
          gatheredStamp[id] = run;
          sequence.op('normal');
          if (localStamp[id] === run) sequence.input(local[id]!);
          sequence.output(tensor);
        }
      } else if (localStamp[id] === run) tensor = local[id]!;
      if (tensor >= 0) inputs[inputCount++] = tensor;
    }
    const outputIds = layout.outputIds[p]!;
    const outputBytes = layout.outputBytes[p]!;
    const first = sequence.tensorsMade;
    for (let k = 0; k < outputIds.length; k++) {
      const id = outputIds[k]!;
      const tensor = sequence.tensor(id === NONE ? 0 : Math.ceil(boxVolume(slice.outputs[k]!) * outputBytes[k]!));
      if (id !== NONE) {
        local[id] = tensor;
        localStamp[id] = run;
      }
    }
    sequence.op(layout.behaviour[p]!);
    for (let i = 0; i < inputCount; i++) sequence.input(inputs[i]!);
    for (let k = 0; k < outputIds.length; k++) sequence.output(first + k);
    if (sendsAfter[p] === 1) {
      sequence.op('normal');
      for (let k = 0; k < outputIds.length; k++) sequence.input(first + k);
    }
  }
  if (steps === 0) return { weightBytes: 0, activationPeakBytes: 0 };
  for (let i = 0; i < sharedCount; i++) {
    const w = layout.shared[i]!;
    weightBytes += Math.ceil(boxVolume(weightHull[w]!) * layout.weightBytes[w]!);
    weightHull[w] = null;
  }
  return { weightBytes, activationPeakBytes: sequence.peakBytes() };
}

/** A stretch's positions as a set and each one's index in them (kept per stretch: stretches are memoised). */
function stretchIndex(stretch: TiledStretch): { members: Set<number>; index: Map<number, number> } {
  let known = stretchIndexes.get(stretch);
  if (known === undefined) {
    known = { members: new Set(stretch.positions), index: new Map(stretch.positions.map((p, i) => [p, i])) };
    stretchIndexes.set(stretch, known);
  }
  return known;
}

const stretchIndexes = new WeakMap<TiledStretch, { members: Set<number>; index: Map<number, number> }>();

/** Each position of a tiled stretch → its stretch. */
function tiledAt(slices: PlanSlices): Map<number, TiledStretch> {
  const at = new Map<number, TiledStretch>();
  for (const stretch of slices.tiled!) for (const p of stretch.positions) at.set(p, stretch);
  return at;
}

/**
 * A tiled stretch on `device`, at its sink's place: the receive steps of every tensor it gathers, then the shared
 * tiled-step rules (memory/tiled.ts: alloc of the sink's region, each sub-tile's slices on region-sized tensors, the
 * write of the sink's sub-tile into it), then the send step. Returns the bytes of the weights read by one operator
 * input (the untiled slices'); shared weights go into the layout's hulls (`touched` gets those new to them).
 */
function runStretch(
  ctx: PartitionContext,
  layout: MemoryLayout,
  slices: PlanSlices,
  stretch: TiledStretch,
  device: number,
  run: number,
  sent: boolean,
  touched: number[],
): number {
  const { sequence, local, localStamp, gathered, gatheredStamp, assembledBox, assembledStamp } = layout;
  const { members, index } = stretchIndex(stretch);
  let weightBytes = 0;
  for (const p of stretch.positions) {
    const slice = slices.ops[p]!.slices[device];
    if (slice == null) continue;
    const inputIds = layout.inputIds[p]!;
    for (let j = 0; j < inputIds.length; j++) {
      const id = inputIds[j]!;
      const box = slice.inputs[j];
      if (id === NONE || box == null) continue;
      if (id === WEIGHT) weightBytes += Math.ceil(boxVolume(box) * layout.inputBytes[p]![j]!);
      else if (id <= SHARED) {
        const w = SHARED - id;
        if (layout.weightHull[w] === null) touched.push(w);
        layout.weightHull[w] = hull(layout.weightHull[w]!, box) ?? box;
      } else if (assembledStamp[id] === run && gatheredStamp[id] !== run) {
        const source = ctx.producers[p]![j];
        if (source != null && members.has(source.position)) continue;
        const tensor = sequence.tensor(Math.ceil(boxVolume(assembledBox[id]!) * layout.inputBytes[p]![j]!));
        gathered[id] = tensor;
        gatheredStamp[id] = run;
        sequence.op('normal');
        if (localStamp[id] === run) sequence.input(local[id]!);
        sequence.output(tensor);
      }
    }
  }
  const sinkSlice = slices.ops[stretch.sink]!.slices[device]!;
  const sinkOutput = ctx.model.ops[ctx.opIndex[stretch.sink]!]!.node.outputs[0]!;
  const sinkId = layout.activation.get(sinkOutput)!;
  let buffer = -1;
  emitTiles(
    ctx,
    { positions: stretch.positions, inGroup: (p) => members.has(p), exits: [stretch.sink] },
    (stretch.devices[device] ?? []).map((tile, t) => ({ label: `#${t}`, slice: (p: number) => tile[index.get(p)!] ?? null })),
    {
      outer(tensor) {
        const id = layout.activation.get(tensor)!;
        if (id === sinkId) {
          buffer = sequence.tensor(Math.ceil(boxVolume(sinkSlice.outputs[0]!) * ctx.elementBytes.get(tensor)!));
          local[id] = buffer;
          localStamp[id] = run;
          return buffer;
        }
        if (assembledStamp[id] === run) return gathered[id]!;
        return localStamp[id] === run ? local[id]! : -1;
      },
      tensor: (_name, bytes) => sequence.tensor(bytes),
      op(_name, inputs, outputs, behaviour) {
        sequence.op(behaviour);
        for (const t of inputs) sequence.input(t);
        for (const t of outputs) sequence.output(t);
      },
    },
  );
  if (sent) {
    sequence.op('normal');
    sequence.input(buffer);
  }
  return weightBytes;
}

/** Positions whose slice on `device` is followed by an upload (its output is needed elsewhere or is a graph output). */
export function sendPositions(comm: Communication, device: number): Set<number> {
  const positions = new Set<number>();
  for (const message of comm.messages) if (message.source === device) positions.add(message.producer);
  return positions;
}
