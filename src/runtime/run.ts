import { join } from 'node:path';
import type { Cluster, DeviceProfile } from '../cluster/types.ts';
import { fail } from '../errors.ts';
import { modelFingerprint } from '../model/fingerprint.ts';
import type { Secret } from './auth.ts';
import type { Model } from '../ir/graph.ts';
import type { Plan } from '../plan/types.ts';
import { simulate, simulateSteps } from '../simulate/simulate.ts';
import type { SimulationResult } from '../simulate/types.ts';
import { executeProgram, type WorkerRunStats } from './coordinator.ts';
import { emulatedCluster, profileGflops, slowdownFor } from './emulate.ts';
import { startLocalWorkers, type LocalWorkers } from './local.ts';
import type { BundleIndex } from './manifest.ts';
import { compileProgram } from './program.ts';
import { maxAbsError, measureReference, median, modelInputs, openWholeModel, withInlineWeights } from './reference.ts';
import { ortTensorBytes } from './tensors.ts';

export interface RunPlanOptions {
  /** Remote workers (host:port, one per device), or `local` child processes started here. */
  workers?: string[];
  local?: number;
  runs?: number;
  warmup?: number;
  /** Emulate the plan cluster's links (rates, per-message latencies, router forwarding). */
  emulateLinks?: boolean;
  /** Stretch each worker's compute to its device's speed (docs/runtime.md, "Emulating devices"). */
  emulateDevices?: boolean;
  /** This host's profile of the model: calibrates the prediction and fixes the host speed for emulation. */
  hostProfile?: DeviceProfile;
  timeoutMs?: number;
  /** The remote workers' shared secret (docs/runtime.md, "Security model"); local workers get a fresh one. */
  secret?: Secret;
  /** Local workers only: their --memory-limit in MiB. */
  memoryLimitMB?: number;
  /** Called with the local workers once they run (tests use it to inject faults). */
  onLocalWorkers?: (workers: LocalWorkers) => void;
  /** Called after each run (warm-up included): progress. */
  onRun?: (run: number, latencyMs: number) => void;
  /**
   * The plan's bundle (`deploy`; readBundleIndex): the workers run its device folders (local ones are started with
   * `--bundle <dir>/<folder>`) and only tensors travel. The plan must be the bundle's.
   */
  bundle?: { dir: string; index: BundleIndex };
}

export interface WorkerReport extends Omit<WorkerRunStats, 'stepMs'> {
  slowdown: number;
  predictedComputeMs: number;
  predictedSendMs: number;
  predictedPeakBytes: number;
  /** Its program's steps, in order (docs/runtime.md, "Measurements"). */
  steps: StepReport[];
}

/** One step of a worker: its time measured (median over the measured runs) and predicted (the simulator's). */
export interface StepReport {
  name: string;
  measuredMs: number;
  /** The simulator's compute for the step (Simulator.steps): its slices' times plus its step overhead. */
  predictedMs: number;
}

/** What `memorianova run` reports (definitions: docs/runtime.md, "Measurements"). */
export interface RunReport {
  model: string;
  method: string;
  cluster: string;
  /** Median end-to-end latency over the measured runs. */
  measuredMs: number;
  /** The simulator's latency for the plan on the (calibrated, emulated) cluster. */
  predictedMs: number;
  /** (measured − predicted) / predicted × 100. */
  errorPercent: number;
  maxAbsError: number;
  runsMs: number[];
  /**
   * The host's speed on this model (Σ FLOPs / CPU ms of the whole model in one session): with emulated devices the
   * median over the measured runs of the speed re-measured before each (what emulation divided by), else measured
   * before the runs.
   */
  hostGflops: number;
  /** The host's speed according to the host profile (the prediction's time base), when one was given. */
  hostProfileGflops?: number;
  calibrated: boolean;
  emulateLinks: boolean;
  emulateDevices: boolean;
  workers: WorkerReport[];
  prediction: SimulationResult;
  /** The workers ran the plan's bundle (nothing but tensors was sent to them). */
  bundle: boolean;
  /** Local workers: from starting their processes to every one listening (a bundle worker has loaded it by then). */
  startMs: number | null;
  /** From connecting to the workers to every one ready (docs/runtime.md, "Measurements"). */
  setupMs: number;
  /** startMs (0 for remote workers) + setupMs + the first run's latency. */
  firstResultMs: number;
}

/** Whole-model runs whose median CPU time gives the host's speed now. */
const REFERENCE_RUNS = 5;
/** The host's speed for a run: the median of this many latest whole-model runs. */
const CLOCK_WINDOW = 5;

/** Executes a plan on workers, checks the output against one whole-model session and sets it beside the prediction. */
export async function runPlan(analysed: Model, plan: Plan, options: RunPlanOptions): Promise<RunReport> {
  const model = withInlineWeights(analysed);
  const cluster: Cluster = plan.cluster;
  const inputs = modelInputs(model);
  // One whole-model session gives the reference output and, with emulated devices, stays open as the host's clock.
  const whole = await openWholeModel(model, inputs);
  const reference = await measureReference(whole, REFERENCE_RUNS);
  if (!options.emulateDevices) await whole.release();
  let local: LocalWorkers | undefined;
  try {
    const totalFlops = model.ops.reduce((n, op) => n + op.cost.flops, 0);
    // Emulation stretches CPU time measured now, so the slowdowns use the host's speed now (the reference run just
    // made); the profile, measured earlier, gives the prediction how that time divides among operators and steps.
    const hostGflops = totalFlops / (reference.wholeModelMs * 1e6);
    const hostProfileGflops = options.hostProfile === undefined ? undefined : profileGflops(model, options.hostProfile);
    const predictionCluster =
      options.hostProfile !== undefined && options.emulateDevices
        ? emulatedCluster(cluster, options.hostProfile, hostProfileGflops!)
        : cluster;
    const prediction = simulate(model, predictionCluster, plan);
    const predictedSteps = simulateSteps(model, predictionCluster, plan);
    const slowdownsAt = (gflops: number) => cluster.devices.map((d) => (options.emulateDevices ? slowdownFor(d, gflops) : 1));
    // The host's speed drifts while other processes come and go: with emulated devices one whole-model run before
    // every distributed run re-measures it, and that run's slowdowns follow the median of the latest measurements.
    const clock = options.emulateDevices ? whole : undefined;
    const clockMs = [...reference.runsMs];
    const runGflops: number[] = [];
    const program = compileProgram(model, plan, cluster);
    program.workers.forEach((w, i) => {
      if (predictedSteps[i]!.length !== w.steps.length)
        throw new Error(`device ${w.name}: the simulator has ${predictedSteps[i]!.length} steps, its program ${w.steps.length}`);
    });
    const bundle = options.bundle;
    if (bundle !== undefined && bundle.index.model.fingerprint !== modelFingerprint(model))
      fail(`bundle '${bundle.dir}' was made for another model (fingerprint ${bundle.index.model.fingerprint})`, 'invalid-plan');
    let addresses = options.workers ?? [];
    let startMs: number | null = null;
    if (options.local !== undefined) {
      const started = performance.now();
      local = await startLocalWorkers(options.local, (i) => [
        ...(options.memoryLimitMB === undefined ? [] : ['--memory-limit', String(options.memoryLimitMB)]),
        ...(bundle === undefined ? [] : ['--bundle', join(bundle.dir, bundle.index.devices[i]!.folder)]),
      ]);
      startMs = performance.now() - started;
      addresses = local.addresses;
      options.onLocalWorkers?.(local);
    }
    const result = await executeProgram(program, cluster, {
      workers: addresses,
      runs: options.runs ?? 5,
      warmup: options.warmup ?? 1,
      inputs: new Map([...inputs].map(([name, t]) => [name, ortTensorBytes(t)])),
      emulateLinks: options.emulateLinks ?? false,
      sharedClock: local !== undefined,
      slowdowns: slowdownsAt(hostGflops),
      exclusiveCompute: options.emulateDevices ?? false,
      ...(clock === undefined
        ? {}
        : {
            slowdownsForRun: async () => {
              clockMs.push((await clock.run()).cpuMs);
              const gflops = totalFlops / (median(clockMs.slice(-CLOCK_WINDOW)) * 1e6);
              runGflops.push(gflops);
              return slowdownsAt(gflops);
            },
          }),
      timeoutMs: options.timeoutMs ?? 30_000,
      ...(options.onRun === undefined ? {} : { onRun: options.onRun }),
      ...(local === undefined ? {} : { describeLoss: (i: number) => local!.exitOf(i) }),
      ...(local !== undefined ? { secret: local.secret } : options.secret === undefined ? {} : { secret: options.secret }),
      ...(bundle === undefined
        ? {}
        : {
            bundle: {
              dir: bundle.dir,
              fingerprint: bundle.index.model.fingerprint,
              manifests: bundle.index.devices.map((d) => ({ folder: d.folder, sha256: d.manifest.sha256 })),
            },
          }),
    });
    const measuredMs = median(result.latenciesMs);
    const warmup = options.warmup ?? 1;
    const emulatedGflops = runGflops.length > warmup ? median(runGflops.slice(warmup)) : hostGflops;
    const slowdowns = slowdownsAt(emulatedGflops);
    const workers = cluster.devices.map((device, i): WorkerReport => {
      const runs = result.workerRuns.map((r) => r[i]!);
      const pick = (f: (s: (typeof runs)[number]) => number) => median(runs.map(f));
      const predicted = prediction.devices[i]!;
      return {
        name: device.name,
        computeMs: pick((s) => s.computeMs),
        waitMs: pick((s) => s.waitMs),
        sendMs: pick((s) => s.sendMs),
        peakBytes: Math.max(...runs.map((s) => s.peakBytes)),
        tensorPeakBytes: Math.max(...runs.map((s) => s.tensorPeakBytes)),
        workingPeakBytes: Math.max(...runs.map((s) => s.workingPeakBytes)),
        slowdown: slowdowns[i]!,
        predictedComputeMs: predicted.computeMs,
        predictedSendMs: predicted.sendMs,
        predictedPeakBytes: prediction.devicePeakBytes[i]!,
        steps: program.workers[i]!.steps.map((step, s) => ({
          name: step.name,
          measuredMs: pick((r) => r.stepMs[s]!),
          predictedMs: predictedSteps[i]![s]!.ms,
        })),
      };
    });
    return {
      model: model.name,
      method: plan.method,
      cluster: cluster.name,
      measuredMs,
      predictedMs: prediction.latencyMs,
      errorPercent: ((measuredMs - prediction.latencyMs) / prediction.latencyMs) * 100,
      maxAbsError: maxAbsError(model, result.outputs, reference.outputs),
      runsMs: result.latenciesMs,
      hostGflops: emulatedGflops,
      ...(hostProfileGflops === undefined ? {} : { hostProfileGflops }),
      calibrated: options.hostProfile !== undefined,
      emulateLinks: options.emulateLinks ?? false,
      emulateDevices: options.emulateDevices ?? false,
      workers,
      prediction,
      bundle: bundle !== undefined,
      startMs,
      setupMs: result.setupMs,
      firstResultMs: (startMs ?? 0) + result.firstResultMs,
    };
  } finally {
    await local?.stop();
    if (options.emulateDevices) await whole.release();
  }
}
