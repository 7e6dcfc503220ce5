import type { Cluster, DeviceProfile } from '../cluster/types.ts';
import type { Model } from '../ir/graph.ts';
import type { Plan } from '../plan/types.ts';
import { simulate } from '../simulate/simulate.ts';
import type { SimulationResult } from '../simulate/types.ts';
import { executeProgram, type WorkerRunStats } from './coordinator.ts';
import { emulatedCluster, profileGflops, slowdownFor } from './emulate.ts';
import { startLocalWorkers, type LocalWorkers } from './local.ts';
import { compileProgram } from './program.ts';
import { maxAbsError, median, modelInputs, referenceRun, withInlineWeights } from './reference.ts';
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
  /** Local workers only: their --memory-limit in MiB. */
  memoryLimitMB?: number;
  /** Called with the local workers once they run (tests use it to inject faults). */
  onLocalWorkers?: (workers: LocalWorkers) => void;
  /** Called after each run (warm-up included): progress. */
  onRun?: (run: number, latencyMs: number) => void;
}

export interface WorkerReport extends WorkerRunStats {
  slowdown: number;
  predictedComputeMs: number;
  predictedSendMs: number;
  predictedPeakBytes: number;
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
  hostGflops: number;
  calibrated: boolean;
  emulateLinks: boolean;
  emulateDevices: boolean;
  workers: WorkerReport[];
  prediction: SimulationResult;
}

/** Executes a plan on workers, checks the output against one whole-model session and sets it beside the prediction. */
export async function runPlan(analysed: Model, plan: Plan, options: RunPlanOptions): Promise<RunReport> {
  const model = withInlineWeights(analysed);
  const cluster: Cluster = plan.cluster;
  const inputs = modelInputs(model);
  const reference = await referenceRun(model, inputs, 3);
  const totalFlops = model.ops.reduce((n, op) => n + op.cost.flops, 0);
  const hostGflops = options.hostProfile !== undefined ? profileGflops(model, options.hostProfile) : totalFlops / (reference.wholeModelMs * 1e6);
  const predictionCluster = options.hostProfile !== undefined && options.emulateDevices ? emulatedCluster(cluster, options.hostProfile, hostGflops) : cluster;
  const prediction = simulate(model, predictionCluster, plan);
  const slowdowns = cluster.devices.map((d) => (options.emulateDevices ? slowdownFor(d, hostGflops) : 1));
  const program = compileProgram(model, plan, cluster);
  let local: LocalWorkers | undefined;
  let addresses = options.workers ?? [];
  if (options.local !== undefined) {
    local = await startLocalWorkers(options.local, () => (options.memoryLimitMB === undefined ? [] : ['--memory-limit', String(options.memoryLimitMB)]));
    addresses = local.addresses;
    options.onLocalWorkers?.(local);
  }
  try {
    const result = await executeProgram(program, cluster, {
      workers: addresses,
      runs: options.runs ?? 5,
      warmup: options.warmup ?? 1,
      inputs: new Map([...inputs].map(([name, t]) => [name, ortTensorBytes(t)])),
      emulateLinks: options.emulateLinks ?? false,
      slowdowns,
      timeoutMs: options.timeoutMs ?? 30_000,
      ...(options.onRun === undefined ? {} : { onRun: options.onRun }),
      ...(local === undefined ? {} : { describeLoss: (i: number) => local!.exitOf(i) }),
    });
    const measuredMs = median(result.latenciesMs);
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
        slowdown: slowdowns[i]!,
        predictedComputeMs: predicted.computeMs,
        predictedSendMs: predicted.sendMs,
        predictedPeakBytes: prediction.devicePeakBytes[i]!,
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
      hostGflops,
      calibrated: options.hostProfile !== undefined,
      emulateLinks: options.emulateLinks ?? false,
      emulateDevices: options.emulateDevices ?? false,
      workers,
      prediction,
    };
  } finally {
    await local?.stop();
  }
}
