import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { DeviceProfile } from '../cluster/types.ts';
import type { Model, Weight } from '../ir/graph.ts';
import { writeModelBytes } from '../onnx/write.ts';
import { boxShape, boxVolume, fullBox, withAxis } from '../partition/box.ts';
import { partitionContext, type PartitionContext } from '../partition/context.ts';
import type { Box, OpSlice } from '../partition/types.ts';
import { modelFingerprint } from '../model/fingerprint.ts';
import { wireNode, type WorkerProgram } from './program.ts';
import { median, modelInputs, withInlineWeights } from './reference.ts';
import { boxKey, weightSlice } from './regions.ts';
import { calibrateOverheads, type OverheadFit } from './overheads.ts';
import { buildStepModel, syntheticFeeds, type HeldWeight } from './submodel.ts';
import { checkTarget, DEFAULT_TARGET, describeTarget, runMs, sessionOptions, type SessionTarget } from './targets.ts';
import { optimisedOpTimes, type TracedKernel } from './kernels.ts';
import { timedRun } from './tensors.ts';

export interface ProfileOptions {
  /** Timed runs per operator (after one warm-up); the median is kept. */
  runs?: number;
  /** Also time half of every splittable operator along its first split dimension. */
  slices?: boolean;
  /** Fit the execution overheads (steps and split slices) by timing calibration plans (default true). */
  overheads?: boolean;
  /** Called after each operator: progress. */
  onOp?: (done: number, total: number) => void;
  /** Called after each calibration step: progress. */
  onCalibrationStep?: (done: number, total: number) => void;
  /** The execution providers and threads of every session it times (default CPU, one thread); recorded in the profile. */
  target?: SessionTarget;
}

export interface SliceTiming {
  op: string;
  dim: string;
  /** Share of the operator's output elements the slice computes. */
  fraction: number;
  wholeMs: number;
  sliceMs: number;
}

export interface ProfileResult {
  profile: DeviceProfile;
  /** Σ FLOPs / Σ measured ms over the model, GFLOP/s. */
  gflops: number;
  totalMs: number;
  slices: SliceTiming[];
  /** The overhead fit and the steps it was fitted to (absent with `overheads: false`). */
  calibration?: OverheadFit;
}

/**
 * Profiles a model on this machine (docs/runtime.md, "Profiling"). `ops[name]` is the operator's share of the CPU
 * time of the whole model: onnxruntime's own profiler gives each operator's kernel time in one whole-model session
 * with graph optimisations off (every operator its own kernel; the minimum over the timed runs, which filters out
 * preemption), and these are scaled so that they sum to the median CPU time of the whole model in an optimised
 * session, the way the runtime runs its sub-models (one intra-op thread) — with `overheads` (the default), then
 * multiplied by the calibration's `scale`, so that they sum to the whole model's time as one calibration step, the
 * time base of the fitted overheads. `opTypes` gets each operator type's
 * effective GFLOP/s (Σ FLOPs / Σ ms over the type's operators that do arithmetic). With `slices`, each splittable
 * operator also runs alone, whole and halved along its first split dimension, in sub-models built exactly as the
 * runtime builds a step (CPU time, median of the runs).
 */
export async function profileModel(analysed: Model, options: ProfileOptions = {}): Promise<ProfileResult> {
  const runs = options.runs ?? 5;
  // Weights are written into sessions and cut into slices many times: materialise each once.
  const model = withInlineWeights(analysed);
  const ctx = partitionContext(
    model,
    model.ops.map((op) => op.node.name),
  );
  const target = options.target ?? DEFAULT_TARGET;
  await checkTarget(target, 'profile');
  const kernels = await kernelTimes(model, runs, target);
  const ops: Record<string, number> = {};
  const byType = new Map<string, { flops: number; ms: number }>();
  const slices: SliceTiming[] = [];
  let totalMs = 0;
  let flops = 0;
  for (let p = 0; p < ctx.order.length; p++) {
    const op = model.ops[ctx.opIndex[p]!]!;
    const whole = ctx.geometry[p]!.outputShapes.map((shape) => fullBox(shape));
    const ms = kernels.get(op.node.name) ?? (await timeSlice(ctx, p, whole, runs, target));
    ops[op.node.name] = ms;
    totalMs += ms;
    flops += op.cost.flops;
    if (op.cost.flops > 0 && ms > 0) {
      const entry = byType.get(op.node.opType) ?? { flops: 0, ms: 0 };
      entry.flops += op.cost.flops;
      entry.ms += ms;
      byType.set(op.node.opType, entry);
    }
    const option = ctx.space[p]!.options[0];
    if (options.slices && option !== undefined) {
      const half = whole.map((box, k) => (k === 0 ? withAxis(box, option.axis, 0, Math.ceil(option.extent / 2)) : box));
      const wide = ctx.geometry[p]!.widen(half);
      const wholeMs = await timeSlice(ctx, p, whole, runs, target);
      const sliceMs = await timeSlice(ctx, p, wide, runs, target);
      slices.push({ op: op.node.name, dim: option.dim, fraction: boxVolume(wide[0]!) / boxVolume(whole[0]!), wholeMs, sliceMs });
    }
    options.onOp?.(p + 1, ctx.order.length);
  }
  const opTypes = Object.fromEntries([...byType].map(([type, { flops: f, ms }]) => [type, f / (ms * 1e6)]));
  const profile: DeviceProfile = {
    format: 'memorianova-profile',
    version: 1,
    measuredOn: `${process.platform}-${process.arch}, node ${process.version}, onnxruntime-node ${ort.env.versions.common}, ${describeTarget(target)}`,
    model: { name: model.name, fingerprint: modelFingerprint(model) },
    ops,
    opTypes,
    executionProviders: target.executionProviders,
    threads: target.threads,
  };
  const result: ProfileResult = { profile, gflops: totalMs > 0 ? flops / (totalMs * 1e6) : 0, totalMs, slices };
  if (options.overheads !== false) {
    result.calibration = await calibrateOverheads(model, ops, {
      runs,
      target,
      ...(options.onCalibrationStep === undefined ? {} : { onStep: options.onCalibrationStep }),
    });
    profile.overheads = result.calibration.overheads;
    // One time base for operators and overheads: the whole model as one step, timed with the calibration steps.
    const scale = result.calibration.scale;
    for (const name of Object.keys(ops)) ops[name]! *= scale;
    for (const type of Object.keys(opTypes)) opTypes[type]! /= scale;
    result.totalMs *= scale;
    result.gflops /= scale;
  }
  return result;
}

/**
 * Per operator, its kernel time's share of the whole model's CPU ms (docs/runtime.md, "Profiling"): onnxruntime's
 * profiler with graph optimisations off gives every operator's own kernel time, and with them on the time of the
 * fused kernels the runtime's sessions run, which optimisedOpTimes attributes back to operators (the unoptimised
 * times when too little of it maps onto them); each the minimum over `runs` runs.
 */
async function kernelTimes(model: Model, runs: number, target: SessionTarget): Promise<Map<string, number>> {
  const bytes = writeModelBytes(model.graph);
  const feeds = Object.fromEntries(modelInputs(model));
  const traced = await traceKernels(bytes, feeds, runs, { ...sessionOptions(target), graphOptimizationLevel: 'disabled' });
  const optimisedTrace = await traceKernels(bytes, feeds, runs, sessionOptions(target));
  const unoptimised = new Map([...traced].map(([name, k]) => [name, k.ms]));
  const kernels = optimisedOpTimes(model, unoptimised, optimisedTrace) ?? unoptimised;
  const optimised = await ort.InferenceSession.create(bytes, sessionOptions(target));
  await optimised.run(feeds);
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) cpu.push(runMs(await timedRun(optimised, feeds), target));
  await optimised.release();
  const traceMs = [...kernels.values()].reduce((a, b) => a + b, 0);
  const scale = traceMs > 0 ? median(cpu) / traceMs : 1;
  return new Map([...kernels].map(([name, ms]) => [name, ms * scale]));
}

/** Per node of the session's graph, its least kernel time (ms) over `runs` runs after a warm-up (onnxruntime's profiler). */
async function traceKernels(
  bytes: Uint8Array,
  feeds: Record<string, ort.Tensor>,
  runs: number,
  options: ort.InferenceSession.SessionOptions,
): Promise<Map<string, TracedKernel>> {
  const dir = mkdtempSync(join(tmpdir(), 'memorianova-profile-'));
  try {
    const traced = await ort.InferenceSession.create(bytes, { ...options, enableProfiling: true, profileFilePrefix: join(dir, 'ort') });
    for (let i = 0; i <= runs; i++) await traced.run(feeds);
    traced.endProfiling();
    await traced.release();
    const file = readdirSync(dir).find((f) => f.endsWith('.json'));
    const kernels = new Map<string, TracedKernel>();
    if (file === undefined) return kernels;
    type Event = { cat?: string; name?: string; dur?: number; args?: { op_name?: string } };
    for (const event of JSON.parse(readFileSync(join(dir, file), 'utf8')) as Event[]) {
      if (event.cat !== 'Node' || event.name === undefined || !event.name.endsWith('_kernel_time') || event.dur === undefined) continue;
      const name = event.name.slice(0, -'_kernel_time'.length);
      const ms = Math.min(kernels.get(name)?.ms ?? Infinity, event.dur / 1000);
      kernels.set(name, { ms, opType: event.args?.op_name ?? '' });
    }
    return kernels;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Median CPU ms of one operator computing the output regions `outputs`, fed exactly the input regions they need. */
async function timeSlice(ctx: PartitionContext, p: number, outputs: Box[], runs: number, target: SessionTarget): Promise<number> {
  const model = ctx.model;
  const op = model.ops[ctx.opIndex[p]!]!;
  const node = op.node;
  const { inputs, overrides } = ctx.geometry[p]!.inputs(outputs);
  const slice: OpSlice = { device: 0, outputs, inputs, flops: op.cost.flops };
  if (overrides !== undefined) slice.overrides = overrides;
  const weights = new Map<string, HeldWeight>();
  const slicesMeta: WorkerProgram['weights'] = [];
  const addWeight = (weight: Weight, box: Box | null): string => {
    const region = box ?? fullBox(weight.shape);
    const key = `${weight.name}@${boxKey(region)}`;
    weights.set(key, { dtype: weight.dtype, shape: boxShape(region), bytes: weightSlice(weight, region) });
    slicesMeta.push({ key, dtype: weight.dtype, box: region });
    return key;
  };
  const held = new Map<string, Box>();
  const dtypes: WorkerProgram['dtypes'] = {};
  const weightKeys = node.inputs.map((tensor, j) => {
    const info = model.tensors.get(tensor);
    const box = inputs[j];
    if (tensor === '' || box == null || info === undefined) return null;
    if (info.kind === 'weight') return addWeight(model.graph.initializers.get(tensor)!, box);
    held.set(tensor, box);
    dtypes[tensor] = info.dtype;
    return null;
  });
  for (const t of node.outputs) if (t !== '') dtypes[t] = model.tensors.get(t)!.dtype;
  const program: WorkerProgram = { device: 0, name: 'profile', dtypes, weights: slicesMeta, steps: [], opset: model.graph.opset };
  if (model.graph.opsetImports !== undefined) program.opsetImports = model.graph.opsetImports;
  const step = {
    name: node.name,
    gathers: [],
    uploads: [],
    boundaryBytes: 0,
    ops: [{ position: p, node: wireNode(node, addWeight), slice, weights: weightKeys }],
  };
  const built = buildStepModel(program, step, held, weights, new Set(node.outputs.filter((t) => t !== '')));
  const session = await ort.InferenceSession.create(writeModelBytes(built.graph), sessionOptions(target));
  try {
    const feeds = syntheticFeeds(built, dtypes);
    await session.run(feeds);
    const times: number[] = [];
    for (let i = 0; i < runs; i++) times.push(runMs(await timedRun(session, feeds), target));
    return median(times);
  } finally {
    await session.release();
  }
}
