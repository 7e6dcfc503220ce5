import { solveWithHighs } from '../highs.ts';
import * as ort from 'onnxruntime-node';
import type { Cluster, ExecutionOverheads } from '../cluster/types.ts';
import { fail } from '../errors.ts';
import type { Model } from '../ir/graph.ts';
import { writeModelBytes } from '../onnx/write.ts';
import { boxShape, boxVolume, fullBox } from '../partition/box.ts';
import { proportionalPlan, singleDevicePlan } from '../plan/build.ts';
import type { Plan } from '../plan/types.ts';
import { SPLIT_DIMS, type SplitDim } from '../partition/types.ts';
import { splitDimOf } from '../simulate/steps.ts';
import { compileProgram, type RuntimeProgram } from './program.ts';
import { median, withInlineWeights } from './reference.ts';
import { weightSlice } from './regions.ts';
import { planSteps } from './schedule.ts';
import { buildStepModel, syntheticFeeds, type HeldWeight } from './submodel.ts';
import { DEFAULT_TARGET, runMs, sessionOptions, type SessionTarget } from './targets.ts';
import { timedRun } from './tensors.ts';

/** One step of a calibration plan as run on this machine (docs/runtime.md, "Profiling"). */
export interface StepSample {
  plan: string;
  device: number;
  step: string;
  /** Σ over the step's slices of operators not split (run whole) of the profiled operator time (ms). */
  wholeMs: number;
  /** Per split dim: Σ over its slices of operators split along it over several devices of profiled time × share (ms). */
  splitShareMs: Partial<Record<SplitDim, number>>;
  boundaryBytes: number;
  /** Median CPU ms of the step's sub-model run (what a worker times). */
  measuredMs: number;
}

export interface OverheadFit {
  /** In the calibration's time base (see fitOverheads). */
  overheads: ExecutionOverheads;
  /** Σ measured / Σ profiled ms of the steps without split operators: the speed during calibration relative to the profile. */
  scale: number;
  /** Root-mean-square of measured − fitted over the samples (ms). */
  rmsMs: number;
  samples: StepSample[];
}

const MiB = 2 ** 20;
const WARMUP_RUNS = 3;
/** Idle time before each timed step run: about what a device waits for its pieces (two 10 ms hops) or sleeps when emulated. */
const IDLE_BEFORE_STEP_MS = 20;

/**
 * The overheads that best explain the timed steps (docs/runtime.md, "Execution overheads"), in the time base of
 * the steps without split operators (the whole model as one step): `scale` = Σ measured / Σ profiled operator time
 * over those steps, the machine's speed during calibration relative to the profile (`profileModel` multiplies the
 * profile by it, so profile and overheads share one time base). Then, over the other steps, measuredMs / scale − wholeMs ≈
 * Σ_dim (1 + splitPenalty[dim]) × splitShareMs[dim] + stepMs + msPerMiB × boundaryBytes / 2^20, least squares with
 * stepMs, msPerMiB, splitPenalty ≥ 0 (a convex QP solved by HiGHS). Fitting the speed together with the overheads
 * let it collapse on small models, where step costs dwarf operator time, and blew the overheads up.
 */
export async function fitOverheads(samples: readonly StepSample[]): Promise<OverheadFit> {
  if (samples.length < 4) fail(`calibration needs at least 4 timed steps, got ${samples.length}`, 'runtime-failure');
  const dims = SPLIT_DIMS.filter((dim) => samples.some((s) => (s.splitShareMs[dim] ?? 0) > 0));
  const unsplit = samples.filter((s) => dims.every((dim) => (s.splitShareMs[dim] ?? 0) === 0));
  const unsplitMs = unsplit.reduce((n, s) => n + s.wholeMs, 0);
  if (!(unsplitMs > 0))
    fail(
      'calibration needs timed steps without split operators (the whole model as one step) to tell the machine speed',
      'runtime-failure',
    );
  const scale = unsplit.reduce((n, s) => n + s.measuredMs, 0) / unsplitMs;
  // The steps with split operators, in that time base. Columns: one per split dim (coefficient 1 + penalty, at
  // least 1), then stepMs and msPerMiB (at least 0).
  const split = samples.filter((s) => !unsplit.includes(s));
  if (split.length === 0) fail('calibration needs timed steps with split operators to fit their costs', 'runtime-failure');
  const rowOf = (s: StepSample) => [...dims.map((dim) => s.splitShareMs[dim] ?? 0), 1, s.boundaryBytes / MiB];
  const c = await boundedLeastSquares(
    split.map(rowOf),
    split.map((s) => s.measuredMs / scale - s.wholeMs),
    [...dims.map(() => 1), 0, 0],
  );
  const rows = samples.map((s) => (unsplit.includes(s) ? rowOf(s).map(() => 0) : rowOf(s)));
  const residual = samples.reduce(
    (n, s, i) => n + (scale * (s.wholeMs + rows[i]!.reduce((m, v, a) => m + v * c[a]!, 0)) - s.measuredMs) ** 2,
    0,
  );
  return {
    overheads: {
      splitPenalty: Object.fromEntries(dims.map((dim, i) => [dim, c[i]! - 1])),
      stepMs: c[dims.length]!,
      msPerMiB: c[dims.length + 1]!,
    },
    scale,
    rmsMs: Math.sqrt(residual / samples.length),
    samples: [...samples],
  };
}

/** argmin ‖rows·c − target‖² subject to c ≥ lower: a convex QP in HiGHS's LP format. */
async function boundedLeastSquares(rows: readonly number[][], target: readonly number[], lower: readonly number[]): Promise<number[]> {
  const k = lower.length;
  const gram = Array.from({ length: k }, (_, a) => Array.from({ length: k }, (_, b) => rows.reduce((n, r) => n + r[a]! * r[b]!, 0)));
  const rhs = Array.from({ length: k }, (_, a) => rows.reduce((n, r, i) => n + r[a]! * target[i]!, 0));
  // Each column scaled to unit norm keeps the QP well conditioned whatever the units (x_a = c_a × norm_a); a ridge
  // of 1e-9 keeps it strictly convex when columns coincide (HiGHS reports such a QP unbounded).
  const norm = gram.map((row, a) => Math.sqrt(row[a]!) || 1);
  for (let a = 0; a < k; a++) gram[a]![a]! += 1e-9 * norm[a]! * norm[a]!;
  const coef = (v: number) => (Math.abs(v) < 1e-300 ? '0' : v.toPrecision(17));
  const linear = rhs.map((b, a) => `${coef((-2 * b) / norm[a]!)} x${a}`).join(' + ');
  const quadratic: string[] = [];
  for (let a = 0; a < k; a++) {
    quadratic.push(`${coef((2 * gram[a]![a]!) / (norm[a]! * norm[a]!))} x${a} ^ 2`);
    for (let b = a + 1; b < k; b++) quadratic.push(`${coef((4 * gram[a]![b]!) / (norm[a]! * norm[b]!))} x${a} * x${b}`);
  }
  const bounds = lower.map((l, a) => ` x${a} >= ${coef(l * norm[a]!)}`).join('\n');
  const lp = `Minimize\n obj: ${linear.replace(/\+ -/g, '- ')} + [ ${quadratic.join(' + ').replace(/\+ -/g, '- ')} ] / 2\nBounds\n${bounds}\nEnd\n`;
  const solution = await solveWithHighs(lp, 'the overhead fit');
  if (solution.Status !== 'Optimal') fail(`the overhead fit did not solve (HiGHS: ${solution.Status})`, 'runtime-failure');
  const columns = solution.Columns as Record<string, { Primal: number }>;
  return lower.map((l, a) => Math.max(l, (columns[`x${a}`]?.Primal ?? 0) / norm[a]!));
}

/** A cluster of `n` equal devices used only to lay out calibration plans (no timing comes from it). */
function layoutCluster(n: number): Cluster {
  return {
    name: `calibration-${n}`,
    devices: Array.from({ length: n }, (_, i) => ({
      name: `c${i}`,
      gflops: 1,
      memoryMB: 2 ** 30,
      uplinkMbps: 1000,
      downlinkMbps: 1000,
      latencyMs: 0,
    })),
    router: { name: 'router', latencyMs: 0, broadcast: true },
  };
}

/**
 * The plans calibration times: the whole model as one step, and every splittable operator split evenly over 2 and
 * 4 devices (spatial/token splits first, and channel/head splits first), synchronised wherever data must move.
 */
export function calibrationPlans(model: Model, order: readonly string[]): Array<{ label: string; plan: Plan }> {
  return [
    { label: 'whole', plan: singleDevicePlan(model, layoutCluster(1), order, 0) },
    { label: 'rows/tokens ×2', plan: proportionalPlan(model, layoutCluster(2), order) },
    { label: 'rows/tokens ×4', plan: proportionalPlan(model, layoutCluster(4), order) },
    { label: 'channels/heads ×4', plan: proportionalPlan(model, layoutCluster(4), order, ['channels', 'heads', 'tokens', 'rows']) },
  ];
}

export interface CalibrateOptions {
  /** Timed runs per step (after one warm-up); the median is kept. */
  runs?: number;
  /** Called after each run of a step (warm-up rounds included): progress. */
  onStep?: (done: number, total: number) => void;
  /** Execution providers and threads of the step sessions (default CPU, one thread). */
  target?: SessionTarget;
}

/**
 * Times every step of the calibration plans on this machine, each sub-model built and run exactly as a worker
 * does (one session per step, one intra-op thread, CPU time of the run; inputs from syntheticFeeds), and fits the execution overheads to
 * them given the profiled operator times `opMs` (docs/runtime.md, "Profiling"). All sessions are built first and
 * timed in rounds, one run of every step per round, so a change in the machine's speed while calibrating (other
 * processes, shared caches) touches every plan alike instead of biasing the plans timed during it.
 */
export async function calibrateOverheads(
  analysed: Model,
  opMs: Readonly<Record<string, number>>,
  options: CalibrateOptions = {},
): Promise<OverheadFit> {
  const runs = options.runs ?? 5;
  const target = options.target ?? DEFAULT_TARGET;
  // Every weight is cut into slices for up to 11 devices: materialise each once.
  const model = withInlineWeights(analysed);
  const order = model.ops.map((op) => op.node.name);
  const outputVolume = (name: string) => boxVolume(fullBox(model.tensors.get(name)!.shape));
  const timed: Array<{ sample: StepSample; session: ort.InferenceSession; feeds: Record<string, ort.Tensor>; times: number[] }> = [];
  try {
    for (const { label, plan } of calibrationPlans(model, order)) {
      const program = compileProgram(model, plan, plan.cluster);
      for (const worker of program.workers) {
        const weights = cutWeights(program, worker.device);
        const plans = planSteps(worker);
        for (let s = 0; s < worker.steps.length; s++) {
          const step = worker.steps[s]!;
          const built = buildStepModel(worker, step, plans[s]!.held, weights, plans[s]!.keep);
          const session = await ort.InferenceSession.create(writeModelBytes(built.graph), sessionOptions(target));
          const feeds = syntheticFeeds(built, worker.dtypes);
          let wholeMs = 0;
          const splitShareMs: StepSample['splitShareMs'] = {};
          for (const op of step.ops) {
            const whole = outputVolume(op.node.outputs[0]!);
            const ms = (opMs[op.node.name] ?? 0) * (whole === 0 ? 1 : boxVolume(op.slice.outputs[0]!) / whole);
            const dim = splitDimOf(plan.ops[op.position]!, program.slices.ops[op.position]!);
            if (dim === null) wholeMs += ms;
            else splitShareMs[dim] = (splitShareMs[dim] ?? 0) + ms;
          }
          timed.push({
            sample: {
              plan: label,
              device: worker.device,
              step: step.name,
              wholeMs,
              splitShareMs,
              boundaryBytes: step.boundaryBytes,
              measuredMs: 0,
            },
            session,
            feeds,
            times: [],
          });
        }
      }
    }
    const total = timed.length * (WARMUP_RUNS + runs);
    let done = 0;
    for (let round = 0; round < WARMUP_RUNS + runs; round++) {
      for (const entry of timed) {
        // The first runs of a new session allocate its buffers: they are not what a warm worker pays.
        if (round < WARMUP_RUNS) await entry.session.run(entry.feeds);
        else {
          // A device starts a step after waiting for its pieces, with the processor idle meanwhile; what that
          // costs (caches refilled, the core woken up) is part of a step's cost, so each timed run follows a gap.
          await new Promise((resolve) => setTimeout(resolve, IDLE_BEFORE_STEP_MS));
          entry.times.push(runMs(await timedRun(entry.session, entry.feeds), target));
        }
        options.onStep?.(++done, total);
      }
    }
  } finally {
    for (const entry of timed) await entry.session.release();
  }
  return fitOverheads(timed.map((entry) => ({ ...entry.sample, measuredMs: median(entry.times) })));
}

/** The weight slices a worker of a program holds, cut from the model's weights as the coordinator does. */
function cutWeights(program: RuntimeProgram, worker: number): Map<string, HeldWeight> {
  const held = new Map<string, HeldWeight>();
  for (const slice of program.workers[worker]!.weights) {
    held.set(slice.key, {
      dtype: slice.dtype,
      shape: boxShape(slice.box),
      bytes: weightSlice(program.weightSources.get(slice.key)!, slice.box),
    });
  }
  return held;
}
