import * as ort from 'onnxruntime-node';
import type { DType } from '../ir/dtype.ts';
import type { Model, Weight } from '../ir/graph.ts';
import { writeModelBytes } from '../onnx/write.ts';
import { boxShape, fullBox } from '../partition/box.ts';
import type { PartitionContext } from '../partition/context.ts';
import type { Box, OpSlice } from '../partition/types.ts';
import { wireNode, type ProgramOp, type Step, type WorkerProgram } from '../runtime/program.ts';
import { presetDevice } from '../cluster/presets.ts';
import type { Secret } from '../runtime/auth.ts';
import { executeProgram } from '../runtime/coordinator.ts';
import { startLocalWorkers, type LocalWorkers } from '../runtime/local.ts';
import {
  maxAbsError,
  measureReference,
  median,
  modelInputs,
  openWholeModel,
  referenceRun,
  withInlineWeights,
} from '../runtime/reference.ts';
import { boxKey, copyRegion, elementSize, emptyRegion, weightSlice } from '../runtime/regions.ts';
import { buildStepModel, type HeldWeight } from '../runtime/submodel.ts';
import { ortTensorBytes, SESSION_OPTIONS, toOrtTensor } from '../runtime/tensors.ts';
import type { Segment } from './memory.ts';
import type { LoadedFitPlan } from './plan.ts';
import { compileFitProgram, tileOps } from './program.ts';
import { exitShare } from './tiles.ts';

export interface FitRun {
  outputs: Map<string, Uint8Array>;
  /** Largest |tiled − whole model| over the float outputs (runtime/reference.ts). */
  maxAbsError: number;
  /** ONNX Runtime sessions run: one per untiled operator and one per tile. */
  steps: number;
}

/**
 * Runs a fit execution with ONNX Runtime in this process, one step after another (docs/fit.md, "Proof by the
 * runtime"): an untiled operator is one sub-model on whole tensors; each tile of a group is one sub-model of its
 * slices (runtime/submodel.ts builds it: weight slices, pads at borders, crops of the held inputs), and its share
 * of every exit is copied into that exit's whole tensor. The outputs are compared with the whole model's.
 */
export async function runFit(analysed: Model, ctx: PartitionContext, segments: readonly Segment[]): Promise<FitRun> {
  const model = withInlineWeights(analysed);
  const inputs = modelInputs(model);
  const held = new Map<string, Uint8Array>();
  for (const [name, tensor] of inputs) held.set(name, ortTensorBytes(tensor).slice());
  const dtypes: Record<string, DType> = {};
  for (const [name, info] of model.tensors) if (info.kind !== 'weight') dtypes[name] = info.dtype;
  const program: WorkerProgram = { device: 0, name: 'fit', dtypes, weights: [], steps: [], opset: model.graph.opset };
  if (model.graph.opsetImports !== undefined) program.opsetImports = model.graph.opsetImports;
  const weights = new Map<string, HeldWeight>();
  const addWeight = (weight: Weight, box: Box | null): string => {
    const region = box ?? fullBox(weight.shape);
    const key = `${weight.name}@${boxKey(region)}`;
    if (!weights.has(key)) weights.set(key, { dtype: weight.dtype, shape: boxShape(region), bytes: weightSlice(weight, region) });
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
  /** Held tensors that are not whole: the caches of cached halos. */
  const boxes = new Map<string, Box>();
  let steps = 0;
  const runStep = async (name: string, ops: ProgramOp[], keep: Set<string>) => {
    const step: Step = { name, gathers: [], ops, uploads: [], boundaryBytes: 0 };
    const built = buildStepModel(
      program,
      step,
      new Map([...held.keys()].map((t) => [t, boxes.get(t) ?? fullBox(shapeOf(t))])),
      weights,
      keep,
    );
    const session = await ort.InferenceSession.create(writeModelBytes(built.graph), SESSION_OPTIONS);
    try {
      const feeds: Record<string, ort.Tensor> = {};
      for (const feed of built.feeds)
        feeds[feed.input] = toOrtTensor(dtypes[feed.tensor]!, held.get(feed.tensor)!, boxShape(feed.box), feed.tensor);
      const results = await session.run(feeds);
      steps++;
      return built.results.map((r) => ({ tensor: r.tensor, box: r.box, bytes: ortTensorBytes(results[r.output]!).slice() }));
    } finally {
      await session.release();
    }
  };
  for (const segment of segments) {
    if (segment.tiling === null) {
      const p = segment.first;
      const geometry = ctx.geometry[p]!;
      const outputs = geometry.outputShapes.map(fullBox);
      const { inputs: regions, overrides } = geometry.inputs(outputs);
      const node = model.ops[ctx.opIndex[p]!]!.node;
      const slice: OpSlice = { device: 0, outputs, inputs: regions, flops: 0, ...(overrides === undefined ? {} : { overrides }) };
      for (const r of await runStep(node.name, [programOp(p, slice)], new Set(node.outputs.filter((t) => t !== ''))))
        held.set(r.tensor, r.bytes);
      continue;
    }
    const { tiling, first } = segment;
    const exits = new Map<string, { position: number; size: number; whole: ReturnType<typeof emptyRegion> }>();
    for (const p of tiling.exits) {
      if (p < first) continue;
      const tensor = model.ops[ctx.opIndex[p]!]!.node.outputs[0]!;
      const shape = shapeOf(tensor);
      const size = elementSize(dtypes[tensor]!, tensor);
      exits.set(tensor, { position: p, size, whole: emptyRegion(fullBox(shape), size) });
    }
    for (const tile of tiling.tiles) {
      // Cached halos (docs/memory.md, "Cached halos"): the rows kept for the next tile are held as tensors of their own.
      const { ops, caches, dtypes: added } = tileOps(ctx, tiling, first, tile, programOp);
      Object.assign(dtypes, added);
      for (const r of await runStep(`tile ${tile.row},${tile.col}`, ops, new Set([...exits.keys(), ...caches]))) {
        const exit = exits.get(r.tensor);
        if (exit === undefined) {
          held.set(r.tensor, r.bytes);
          boxes.set(r.tensor, r.box);
          continue;
        }
        copyRegion({ box: r.box, bytes: r.bytes }, exit.whole, exitShare(ctx, exit.position, tiling.grid, tile.row, tile.col), exit.size);
      }
    }
    for (const [tensor, exit] of exits) held.set(tensor, exit.whole.bytes);
  }
  const outputs = new Map(model.graph.outputs.map((o) => [o.name, held.get(o.name)!]));
  const reference = await referenceRun(model, inputs);
  return { outputs, maxAbsError: maxAbsError(model, outputs, reference.outputs), steps };
}

export interface RunFitPlanOptions {
  /** A running worker (host:port); without it one local worker process is started and stopped after. */
  worker?: string;
  /** The running worker's shared secret (docs/runtime.md, "Security model"); a local worker gets a fresh one. */
  secret?: Secret;
  runs?: number;
  warmup?: number;
  timeoutMs?: number;
  /** The local worker's --memory-limit in MiB. */
  memoryLimitMB?: number;
  onRun?: (run: number, latencyMs: number) => void;
}

/** What `memorianova run --plan fit.json` reports (docs/fit.md, "Proof by the runtime"). */
export interface FitPlanReport {
  model: string;
  device: string;
  limitBytes: number;
  includeWeights: boolean;
  /** The fit plan's peak under the memory model (activations, plus the weights with includeWeights). */
  predictedPeakBytes: number;
  /**
   * The worker's: the largest, over steps, of the tensors it held while the step ran plus the step's planned working
   * set (plus its weight slices with includeWeights), over the measured runs.
   */
  measuredPeakBytes: number;
  /** The worker process' resident-memory high-water mark above its idle baseline. */
  rssPeakBytes: number;
  /** The fit plan's latency on its device (the latency model). */
  predictedMs: number;
  /** Median end-to-end latency of the measured runs on this host. */
  measuredMs: number;
  /** The worker's Σ over steps of session time (docs/runtime.md, `computeMs`), median over the measured runs. */
  computeMs: number;
  runsMs: number[];
  /** The whole model as one ONNX Runtime session on this host (median CPU ms). */
  wholeModelMs: number;
  maxAbsError: number;
  /** Worker steps: one per operator outside a group and one per tile. */
  steps: number;
  groups: number;
  tiles: number;
}

/**
 * Runs a fit plan on one worker process (docs/fit.md, "Proof by the runtime"): the plan compiled into one worker's
 * program (compileFitProgram), executed by the runtime's coordinator and worker, its output checked against one
 * whole-model session, its memory and latency set beside the plan's.
 */
export async function runFitPlan(analysed: Model, plan: LoadedFitPlan, options: RunFitPlanOptions = {}): Promise<FitPlanReport> {
  const model = withInlineWeights(analysed);
  const inputs = modelInputs(model);
  const whole = await openWholeModel(model, inputs);
  const reference = await measureReference(whole, 3);
  await whole.release();
  const device = presetDevice(plan.file.device) ?? { ...presetDevice('pi')!, name: plan.file.device };
  const { program, cluster } = compileFitProgram(model, plan.memory, plan.segments, device);
  let local: LocalWorkers | undefined;
  try {
    let address = options.worker;
    if (address === undefined) {
      local = await startLocalWorkers(1, () =>
        options.memoryLimitMB === undefined ? [] : ['--memory-limit', String(options.memoryLimitMB)],
      );
      address = local.addresses[0]!;
    }
    const secret = local?.secret ?? options.secret;
    const result = await executeProgram(program, cluster, {
      workers: [address],
      runs: options.runs ?? 5,
      warmup: options.warmup ?? 1,
      inputs: new Map([...inputs].map(([name, t]) => [name, ortTensorBytes(t)])),
      emulateLinks: false,
      slowdowns: [1],
      timeoutMs: options.timeoutMs ?? 30_000,
      ...(options.onRun === undefined ? {} : { onRun: options.onRun }),
      ...(local === undefined ? {} : { describeLoss: () => local!.exitOf(0) }),
      ...(secret === undefined ? {} : { secret }),
    });
    const runs = result.workerRuns.map((r) => r[0]!);
    const weights = plan.file.includeWeights ? plan.weightBytes : 0;
    return {
      model: model.name,
      device: plan.file.device,
      limitBytes: plan.file.limitBytes,
      includeWeights: plan.file.includeWeights,
      predictedPeakBytes: plan.file.peakBytes,
      measuredPeakBytes: Math.max(...runs.map((s) => s.workingPeakBytes)) + weights,
      rssPeakBytes: Math.max(...runs.map((s) => s.peakBytes)),
      predictedMs: plan.file.latencyMs,
      measuredMs: median(result.latenciesMs),
      computeMs: median(runs.map((s) => s.computeMs)),
      runsMs: result.latenciesMs,
      wholeModelMs: reference.wholeModelMs,
      maxAbsError: maxAbsError(model, result.outputs, reference.outputs),
      steps: program.workers[0]!.steps.length,
      groups: plan.segments.filter((s) => s.tiling !== null).length,
      tiles: program.workers[0]!.steps.filter((s) => s.assemble !== undefined).length,
    };
  } finally {
    await local?.stop();
  }
}
