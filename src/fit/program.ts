import type { Cluster, Device } from '../cluster/types.ts';
import type { DType } from '../ir/dtype.ts';
import type { Model, Weight } from '../ir/graph.ts';
import type { MemoryGraph } from '../memory/graph.ts';
import { evaluateOrder } from '../memory/model.ts';
import { boxVolume, fullBox } from '../partition/box.ts';
import type { PartitionContext } from '../partition/context.ts';
import type { Box, OpSlice, PlanSlices } from '../partition/types.ts';
import {
  ROUTER,
  wireNode,
  type Assembly,
  type ProgramOp,
  type RouterMessage,
  type RuntimeProgram,
  type Step,
  type WeightSlice,
  type WorkerProgram,
} from '../runtime/program.ts';
import { boxKey, elementSize } from '../runtime/regions.ts';
import { planSteps } from '../runtime/schedule.ts';
import { planMemory, type FitMemory, type Segment } from './memory.ts';
import { exitShare, type Tile, type Tiling } from './tiles.ts';

/** The slice of position p computing its whole output. */
export function wholeSlice(ctx: PartitionContext, p: number): OpSlice {
  const geometry = ctx.geometry[p]!;
  const outputs = geometry.outputShapes.map(fullBox);
  const { inputs, overrides } = geometry.inputs(outputs);
  return {
    device: 0,
    outputs,
    inputs,
    flops: ctx.model.ops[ctx.opIndex[p]!]!.cost.flops,
    ...(overrides === undefined ? {} : { overrides }),
  };
}

/** Bytes per element of a tensor of the model, or of the new rows or cache of one (tileOps names them after it). */
function elementBytesOf(ctx: PartitionContext, tensor: string): number {
  return ctx.elementBytes.get(tensor) ?? ctx.elementBytes.get(tensor.replace(/~(new|cache@\d+,\d+)$/, ''))!;
}

/**
 * The memory model's peak of the tensors a step computes (docs/memory.md): its operators in order on tensors of their
 * slices' bytes; what it reads from outside is held by the worker and counted there (here 0 bytes, never freed, so
 * nothing is written into it in place), but for `reused`, the held input its first operator overwrites (Step.inPlace):
 * its own bytes, dying there, taken off the peak again. What it keeps (`kept`) lives to its end.
 */
export function stepWorkingBytes(
  ctx: PartitionContext,
  ops: readonly ProgramOp[],
  kept: ReadonlySet<string>,
  inplace: boolean,
  reused?: string,
): number {
  const graph: MemoryGraph = { tensorNames: [], tensorBytes: [], ops: [], graphInputs: [], graphOutputs: [] };
  const ids = new Map<string, number>();
  const tensor = (name: string, bytes: number) => {
    graph.tensorBytes.push(bytes);
    const id = graph.tensorNames.push(name) - 1;
    ids.set(name, id);
    return id;
  };
  for (const op of ops) {
    const inputs: number[] = [];
    op.node.inputs.forEach((name, j) => {
      if (name === '' || op.weights[j] != null || op.slice.inputs[j] == null) return;
      let id = ids.get(name);
      if (id === undefined) {
        id = tensor(
          name,
          name === reused ? ctx.elementBytes.get(name)! * ctx.model.tensors.get(name)!.shape.reduce((a, b) => a * b, 1) : 0,
        );
        graph.graphInputs.push(id);
        if (name !== reused) graph.graphOutputs.push(id);
      }
      if (!inputs.includes(id)) inputs.push(id);
    });
    const outputs = op.node.outputs.map((name, k) => {
      const id = tensor(name, Math.ceil(boxVolume(op.slice.outputs[k]!) * elementBytesOf(ctx, name)));
      if (kept.has(name)) graph.graphOutputs.push(id);
      return id;
    });
    // The Concat and Identity of cached halos (tileOps) allocate their outputs, as the memory model's `cat` and `keep`.
    const own = ctx.model.ops[ctx.opIndex[op.position]!]!;
    graph.ops.push({ name: op.node.name, inputs, outputs, behaviour: own.node.name === op.node.name ? own.memory : 'normal' });
  }
  const peak = evaluateOrder(
    graph,
    graph.ops.map((_, i) => i),
    { inplace },
  ).peakBytes;
  return reused === undefined ? peak : peak - graph.tensorBytes[ids.get(reused)!]!;
}

/**
 * The held input the operator at position p overwrites when it runs first in a step, as the memory model reuses it
 * (memory/state.ts: an element-wise operator takes the first dying input buffer of its output's bytes), when the
 * step's one result (`result`: its output, or that of the in-place operators joining it) has the input's dtype and
 * size, so onnxruntime can write the result over it; undefined when none.
 */
function reusedInput(fm: FitMemory, p: number, result: string): string | undefined {
  const { ctx, index } = fm;
  const op = ctx.model.ops[ctx.opIndex[p]!]!;
  if (!fm.inplace || op.memory !== 'elementwise') return undefined;
  const output = op.node.outputs[0]!;
  const outBytes = fm.graph.tensorBytes[fm.tensorId.get(output)!]!;
  const seen = new Set<number>();
  for (const tensor of op.node.inputs) {
    const id = fm.tensorId.get(tensor);
    if (tensor === '' || id === undefined || ctx.model.tensors.get(tensor)?.kind === 'weight') continue;
    const buffer = index.bufferOf[id]!;
    if (seen.has(buffer)) continue;
    seen.add(buffer);
    if (index.pinned[buffer] === 1 || fm.lastReader[buffer] !== p || index.bufferBytes[buffer] !== outBytes) continue;
    // The buffer the model reuses; the runtime can only if the tensor read is laid out as the output.
    const a = ctx.model.tensors.get(tensor)!;
    const b = ctx.model.tensors.get(result)!;
    const elements = (shape: readonly number[]) => shape.reduce((x, y) => x * y, 1);
    return a.dtype === b.dtype && elements(a.shape) === elements(b.shape) ? tensor : undefined;
  }
  return undefined;
}

/**
 * Whether the operator after position p (both outside any group) runs in p's step: it works in place on p's output
 * (an element-wise operator of its size, or a view), the only reader of that output. Run as a step of its own it
 * would read p's output from the worker while ONNX Runtime writes a new one: two buffers where the memory model,
 * and one sub-model, hold one.
 */
function joinsStep(fm: FitMemory, p: number): boolean {
  const { ctx } = fm;
  const q = p + 1;
  if (!fm.inplace || q >= ctx.order.length || ctx.model.ops[ctx.opIndex[p]!]!.node.outputs.length !== 1) return false;
  const uses = ctx.consumers[p]![0]!;
  if (ctx.isGraphOutput[p]![0]! || uses.length !== 1 || uses[0]!.position !== q) return false;
  const next = ctx.model.ops[ctx.opIndex[q]!]!;
  const sameSize =
    ctx.outputVolume[q] === ctx.outputVolume[p] &&
    ctx.elementBytes.get(next.node.outputs[0]!) === ctx.elementBytes.get(ctx.model.ops[ctx.opIndex[p]!]!.node.outputs[0]!);
  return next.memory === 'alias' || (next.memory === 'elementwise' && sameSize);
}

/** Whether a tensor made before position `first` (or a graph input) dies at position p in the memory model. */
function freesOutside(fm: FitMemory, p: number, first: number): boolean {
  const { ctx, index } = fm;
  const node = ctx.model.ops[ctx.opIndex[p]!]!.node;
  return node.inputs.some((tensor, j) => {
    const id = fm.tensorId.get(tensor);
    const source = ctx.producers[p]![j];
    if (
      tensor === '' ||
      id === undefined ||
      ctx.model.tensors.get(tensor)?.kind === 'weight' ||
      (source != null && source.position >= first)
    )
      return false;
    const buffer = index.bufferOf[id]!;
    return index.pinned[buffer] !== 1 && fm.lastReader[buffer] === p;
  });
}

/** The parts of `ops` when cut after each operator of `cuts` (indices into ops). */
function cutAt(ops: ProgramOp[], cuts: ReadonlySet<number>): ProgramOp[][] {
  const parts: ProgramOp[][] = [[]];
  ops.forEach((op, i) => {
    parts[parts.length - 1]!.push(op);
    if (cuts.has(i) && i < ops.length - 1) parts.push([]);
  });
  return parts;
}

/**
 * How the last tile of a group runs as steps. There a tensor from outside the group dies at its last reader
 * (docs/memory.md, "Tiled steps"), which one step would hold to its end: cutting the tile after that operator
 * frees it there, but carries the tile's tensors read after the cut across as held tensors (no longer written
 * in place). Every subset of those cut points is weighed by the peak the worker will report for the tile's steps
 * (workerStepPeaks' accounting, relative to what the tile starts with); the least wins, fewer steps on a tie.
 */
function lastTileParts(fm: FitMemory, ops: ProgramOp[], first: number, exits: readonly string[]): ProgramOp[][] {
  const { ctx } = fm;
  const points = ops.flatMap((op, i) => (i < ops.length - 1 && freesOutside(fm, op.position, first) ? [i] : []));
  if (points.length === 0) return [ops];
  const sizeOf = (tensor: string, box: Box) => Math.ceil(boxVolume(box) * elementBytesOf(ctx, tensor));
  const wholeOf = (tensor: string) => sizeOf(tensor, fullBox(ctx.model.tensors.get(tensor)!.shape));
  const peakOf = (parts: ProgramOp[][]) => {
    let held = 0;
    let peak = 0;
    const carried = new Map<string, number>();
    parts.forEach((part, k) => {
      const computed = new Set(part.flatMap((op) => op.node.outputs));
      const later = new Set(parts.slice(k + 1).flatMap((rest) => rest.flatMap((op) => op.node.inputs)));
      const kept = new Set([...computed].filter((tensor) => exits.includes(tensor) || later.has(tensor)));
      let results = 0;
      for (const op of part)
        op.node.outputs.forEach((tensor, j) => {
          if (kept.has(tensor)) results += sizeOf(tensor, op.slice.outputs[j]!);
          if (kept.has(tensor) && !exits.includes(tensor)) carried.set(tensor, sizeOf(tensor, op.slice.outputs[j]!));
        });
      peak = Math.max(peak, held + Math.max(stepWorkingBytes(ctx, part, kept, fm.inplace), results));
      for (const [tensor, bytes] of carried) if (!later.has(tensor) && !computed.has(tensor)) ((held -= bytes), carried.delete(tensor));
      for (const tensor of computed) if (carried.has(tensor)) held += carried.get(tensor)!;
      const freed = new Set<string>();
      for (const op of part)
        op.node.inputs.forEach((tensor, j) => {
          const source = ctx.producers[op.position]![j];
          if (tensor === '' || op.weights[j] != null || (source != null && source.position >= first) || later.has(tensor)) return;
          const id = fm.tensorId.get(tensor);
          const buffer = id === undefined ? -1 : fm.index.bufferOf[id]!;
          if (buffer >= 0 && fm.index.pinned[buffer] !== 1 && fm.lastReader[buffer] === op.position) freed.add(tensor);
        });
      for (const tensor of freed) held -= wholeOf(tensor);
    });
    return peak;
  };
  let best = { parts: [ops], peak: peakOf([ops]) };
  // Cut points are few (tensors from outside the group dying inside it); past 10, all of them or none.
  const subsets = points.length <= 10 ? 2 ** points.length : 2;
  for (let mask = 1; mask < subsets; mask++) {
    const cuts = points.length <= 10 ? new Set(points.filter((_, b) => mask & (1 << b))) : new Set(points);
    const parts = cutAt(ops, cuts);
    const peak = peakOf(parts);
    if (peak < best.peak || (peak === best.peak && parts.length < best.parts.length)) best = { parts, peak };
  }
  return best.parts;
}

/** The tensor holding the rows position p's output keeps in tile (row, col) for the next tile of its column. */
export function cacheTensor(output: string, row: number, col: number): string {
  return `${output}~cache@${row},${col}`;
}

/** The tensor of the rows a slice computes where a cat puts them after cached rows. */
export function newRowsTensor(output: string): string {
  return `${output}~new`;
}

/**
 * The operators of one tile's step (docs/fit.md, "Proof by the runtime"): its slices of positions first..last, and
 * with cached halos (docs/memory.md, "Cached halos") where it takes rows from a cache, its slice writes the new rows
 * (newRowsTensor) and a Concat along rows of the cache and them makes the tile's region under the output's own name;
 * where it keeps rows for the next tile of its column, an Identity of them (cacheTensor). In the memory model's order:
 * slice, cat, keep. `caches` lists the tensors it keeps, `dtypes` the dtype of every tensor it adds.
 */
export function tileOps(
  ctx: PartitionContext,
  tiling: Tiling,
  first: number,
  tile: Tile,
  programOp: (p: number, slice: OpSlice) => ProgramOp,
): { ops: ProgramOp[]; caches: string[]; dtypes: Record<string, DType> } {
  const ops: ProgramOp[] = [];
  const caches: string[] = [];
  const dtypes: Record<string, DType> = {};
  const rows = tiling.grid.rows;
  for (let p = first; p <= tiling.last; p++) {
    const i = p - tiling.lowest;
    const slice = tile.slices[i];
    const cached = tile.cached?.[i] ?? null;
    if (slice == null) {
      if (cached !== null) throw new Error(`tile ${tile.row},${tile.col} takes all of position ${p} from its cache`);
      continue;
    }
    const op = programOp(p, slice);
    const output = op.node.outputs[0]!;
    const dtype = ctx.model.tensors.get(output)!.dtype;
    if (cached === null) ops.push(op);
    else {
      const fresh = newRowsTensor(output);
      const cache = cacheTensor(output, tile.row - 1, tile.col);
      dtypes[fresh] = dtype;
      ops.push({ ...op, node: { ...op.node, outputs: [fresh] } });
      ops.push({
        position: p,
        node: {
          name: `${op.node.name}~cat`,
          opType: 'Concat',
          domain: '',
          inputs: [cache, fresh],
          outputs: [output],
          attributes: { axis: { type: 'int', value: 2 } },
        },
        slice: { device: 0, outputs: [tile.regions![i]!], inputs: [cached, slice.outputs[0]!], flops: 0 },
        weights: [null, null],
      });
    }
    const kept = tile.kept?.[i] ?? null;
    if (kept !== null && tile.row + 1 < rows) {
      const cache = cacheTensor(output, tile.row, tile.col);
      dtypes[cache] = dtype;
      caches.push(cache);
      ops.push({
        position: p,
        node: { name: `${op.node.name}~keep`, opType: 'Identity', domain: '', inputs: [output], outputs: [cache], attributes: {} },
        slice: { device: 0, outputs: [kept], inputs: [kept], flops: 0 },
        weights: [null],
      });
    }
  }
  return { ops, caches, dtypes };
}

/**
 * Compiles a fit execution into the program of one worker (docs/fit.md, "Proof by the runtime"): every operator
 * outside a group is a step on whole tensors, every tile of a group a step of its slices that assembles its share
 * of each exit into the exit's whole region. The router sends the graph inputs and receives the graph outputs.
 * `model` must hold its weights inline (the coordinator cuts the slices from them).
 */
export function compileFitProgram(
  model: Model,
  fm: FitMemory,
  segments: readonly Segment[],
  device: Device,
): { program: RuntimeProgram; cluster: Cluster } {
  const { ctx } = fm;
  const dtypes: Record<string, DType> = {};
  for (const [name, info] of model.tensors) if (info.kind !== 'weight') dtypes[name] = info.dtype;
  const weights = new Map<string, WeightSlice>();
  const weightSources = new Map<string, Weight>();
  const addWeight = (weight: Weight, box: Box | null): string => {
    const region = box ?? fullBox(weight.shape);
    const key = `${weight.name}@${boxKey(region)}`;
    if (!weights.has(key)) weights.set(key, { key, dtype: weight.dtype, box: region });
    weightSources.set(key, weight);
    return key;
  };
  const programOp = (p: number, slice: OpSlice): ProgramOp => {
    const node = model.ops[ctx.opIndex[p]!]!.node;
    const keys = node.inputs.map((tensor, j) => {
      const box = slice.inputs[j];
      if (tensor === '' || box == null || model.tensors.get(tensor)?.kind !== 'weight') return null;
      return addWeight(model.graph.initializers.get(tensor)!, box);
    });
    return { position: p, node: wireNode(node, addWeight), slice, weights: keys };
  };
  const shapeOf = (tensor: string) => model.tensors.get(tensor)!.shape;
  const messages: RouterMessage[] = [];
  const inputMessage = new Map<string, number>();
  for (const input of model.graph.inputs) {
    const box = fullBox(shapeOf(input.name));
    inputMessage.set(input.name, messages.push({ tensor: input.name, source: ROUTER, parts: [box], deliveries: [{ device: 0, box }] }) - 1);
  }
  const outputMessage = new Map<string, number>();
  for (const output of model.graph.outputs) {
    const box = fullBox(shapeOf(output.name));
    outputMessage.set(
      output.name,
      messages.push({ tensor: output.name, source: 0, parts: [box], deliveries: [{ device: ROUTER, box }] }) - 1,
    );
  }
  // What the worker holds before position p runs outside a group: every whole tensor made before p and read at p or after.
  const sizeOf = (tensor: string) => Math.ceil(boxVolume(fullBox(shapeOf(tensor))) * ctx.elementBytes.get(tensor)!);
  const lastRead = new Map<string, number>();
  ctx.opIndex.forEach((index, p) => model.ops[index]!.node.inputs.forEach((t) => t !== '' && lastRead.set(t, p)));
  const madeAt = new Map<string, number>(model.graph.inputs.map((i) => [i.name, -1]));
  ctx.opIndex.forEach((index, p) => model.ops[index]!.node.outputs.forEach((t) => t !== '' && madeAt.set(t, p)));
  const heldBefore = (p: number) => {
    let bytes = 0;
    for (const [tensor, at] of madeAt) if (at < p && (lastRead.get(tensor) ?? -1) >= p) bytes += sizeOf(tensor);
    return bytes;
  };
  const budget = planMemory(fm, segments).peakBytes;
  /** Consecutive positions outside groups as one step: its results, the input it overwrites, the worker's peak in it. */
  const untiledStep = (positions: number[]) => {
    const inStep = new Set(positions);
    const outputs = positions.flatMap((p) => {
      const node = model.ops[ctx.opIndex[p]!]!.node;
      return node.outputs.filter(
        (t, k) => t !== '' && (ctx.isGraphOutput[p]![k]! || ctx.consumers[p]![k]!.some((use) => !inStep.has(use.position))),
      );
    });
    const ops = positions.map((p) => programOp(p, wholeSlice(ctx, p)));
    const reused = outputs.length === 1 ? reusedInput(fm, positions[0]!, outputs[0]!) : undefined;
    const working = stepWorkingBytes(ctx, ops, new Set(outputs), fm.inplace, reused);
    const results = reused !== undefined ? 0 : outputs.reduce((n, t) => n + sizeOf(t), 0);
    return { positions, ops, outputs, reused, peak: heldBefore(positions[0]!) + Math.max(working, results) };
  };
  const gathered = new Set<string>();
  const steps: Step[] = [];
  const addStep = (name: string, ops: ProgramOp[], assemble: Assembly[], uploads: string[], kept: Set<string>, reused?: string) => {
    const step: Step = { name, gathers: [], ops, uploads: [], boundaryBytes: 0 };
    for (const op of ops)
      for (const tensor of op.node.inputs) {
        const message = inputMessage.get(tensor);
        if (message === undefined || gathered.has(tensor)) continue;
        gathered.add(tensor);
        const box = fullBox(shapeOf(tensor));
        step.gathers.push({ tensor, region: box, pieces: [{ message, delivery: 0, box }] });
      }
    for (const tensor of uploads) step.uploads.push({ message: outputMessage.get(tensor)!, tensor, parts: [fullBox(shapeOf(tensor))] });
    if (assemble.length > 0) step.assemble = assemble;
    step.workingBytes = stepWorkingBytes(ctx, ops, kept, fm.inplace, reused);
    if (reused !== undefined) step.inPlace = { input: reused, output: [...kept][0]! };
    steps.push(step);
  };
  for (let s = 0; s < segments.length; s++) {
    const segment = segments[s]!;
    if (segment.tiling === null) {
      let step = untiledStep([segment.first]);
      // Operators outside groups share a step (one session) while the worker's peak stays within the plan's.
      while (s + 1 < segments.length && segments[s + 1]!.tiling === null) {
        const joined = untiledStep([...step.positions, segments[s + 1]!.first]);
        if (!joinsStep(fm, step.positions[step.positions.length - 1]!) && joined.peak > budget) break;
        step = joined;
        s++;
      }
      const names = step.positions.map((p) => ctx.order[p]!);
      addStep(
        names.length === 1 ? names[0]! : `${names[0]} .. ${names[names.length - 1]}`,
        step.ops,
        [],
        step.outputs.filter((t) => outputMessage.has(t)),
        new Set(step.outputs),
        step.reused,
      );
      continue;
    }
    const { tiling, first } = segment;
    const exitPositions = [...tiling.exits].filter((p) => p >= first);
    const exits = exitPositions.map((p) => model.ops[ctx.opIndex[p]!]!.node.outputs[0]!);
    const used = tiling.tiles.filter((tile) => tile.slices.some((s, i) => s != null && i + tiling.lowest >= first));
    used.forEach((tile, t) => {
      const { ops, caches, dtypes: added } = tileOps(ctx, tiling, first, tile, programOp);
      Object.assign(dtypes, added);
      const assemble = exits.map((tensor, e) => ({
        tensor,
        region: fullBox(shapeOf(tensor)),
        share: exitShare(ctx, exitPositions[e]!, tiling.grid, tile.row, tile.col),
      }));
      const last = t === used.length - 1;
      const parts = last ? lastTileParts(fm, ops, first, exits) : [ops];
      const name = `${ctx.order[first]} .. ${ctx.order[tiling.last]} tile ${tile.row},${tile.col}`;
      parts.forEach((part, k) => {
        const computed = new Set(part.flatMap((op) => op.node.outputs));
        const later = new Set(parts.slice(k + 1).flatMap((rest) => rest.flatMap((op) => op.node.inputs)));
        const kept = new Set([...computed].filter((tensor) => exits.includes(tensor) || later.has(tensor) || caches.includes(tensor)));
        addStep(
          parts.length === 1 ? name : `${name} part ${k + 1}/${parts.length}`,
          part,
          assemble.filter((a) => computed.has(a.tensor)),
          last ? exits.filter((tensor) => computed.has(tensor) && outputMessage.has(tensor)) : [],
          kept,
        );
      });
    });
  }
  const worker: WorkerProgram = { device: 0, name: device.name, dtypes, weights: [...weights.values()], steps, opset: model.graph.opset };
  if (model.graph.opsetImports !== undefined) worker.opsetImports = model.graph.opsetImports;
  const slices: PlanSlices = {
    ops: ctx.opIndex.map((index, p) => ({ op: ctx.order[p]!, index, sync: true, slices: [wholeSlice(ctx, p)] })),
  };
  const info = (name: string) => ({ name, dtype: model.tensors.get(name)!.dtype, shape: shapeOf(name) });
  const program: RuntimeProgram = {
    workers: [worker],
    messages,
    inputs: model.graph.inputs.map((i) => info(i.name)),
    outputs: model.graph.outputs.map((o) => info(o.name)),
    slices,
    weightSources,
  };
  const cluster: Cluster = { name: `${device.name} (fit)`, devices: [device], router: { name: 'local', latencyMs: 0, broadcast: true } };
  return { program, cluster };
}

/**
 * The peak the worker reports for a program (worker.ts, `workingPeakBytes`), worked out from the program alone: per
 * step the bytes of the regions it holds while the step runs (schedule.ts, with a group's whole exits from its first
 * tile on) plus the step's working set, or plus its results (but one written in place). Per step, in order.
 */
export function workerStepPeaks(program: WorkerProgram): number[] {
  const plans = planSteps(program);
  const bytesOf = (tensor: string, box: Box) => boxVolume(box) * elementSize(program.dtypes[tensor]!, tensor);
  return program.steps.map((step, s) => {
    const held = new Map(plans[s]!.held);
    for (const a of step.assemble ?? []) if (!held.has(a.tensor)) held.set(a.tensor, a.region);
    let before = 0;
    for (const [tensor, box] of held) before += bytesOf(tensor, box);
    let results = 0;
    for (const op of step.ops)
      op.node.outputs.forEach((tensor, k) => {
        if (plans[s]!.keep.has(tensor) && tensor !== step.inPlace?.output) results += bytesOf(tensor, op.slice.outputs[k]!);
      });
    return before + Math.max(step.workingBytes ?? 0, results);
  });
}
