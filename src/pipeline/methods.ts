import { fail } from '../errors.ts';
import { deviceMemoryBytes, type Cluster } from '../cluster/types.ts';
import { BASELINES } from '../baselines/index.ts';
import type { PlanningContext } from '../baselines/common.ts';
import { RandomSearch } from '../baselines/random.ts';
import { Evaluator } from '../geneflow/fitness.ts';
import { DEFAULT_TIME_LIMIT_MS, runGeneflow, type GeneflowHistoryEntry, type GeneflowOptions } from '../geneflow/geneflow.ts';
import type { Model } from '../ir/graph.ts';
import { makePlan } from '../plan/build.ts';
import type { OpDecision } from '../partition/types.ts';
import type { Plan } from '../plan/types.ts';
import { wholeRuns, type WholeRun } from '../simulate/ideal.ts';
import { createSimulator } from '../simulate/simulate.ts';
import type { LowerBound, SimulationResult } from '../simulate/types.ts';

export interface MethodResult {
  name: string;
  plan: Plan;
  latencyMs: number;
  feasible: boolean;
  devicePeakBytes: number[];
  searchMs: number;
  /** Plans the method simulated. */
  evaluations: number;
  /** The plan's simulation with its timeline (for Gantt charts and per-device memory). */
  simulation: SimulationResult;
}

export interface AllMethodsOptions {
  /**
   * Wall-clock budget (ms) of the whole partitioning (default 20 000): the baselines get a deadline at
   * BASELINE_SHARE of it, GenEFlow and the interleaved random search share what is left but FINISH_RESERVE.
   */
  timeLimitMs?: number;
  /** GenEFlow options (seed, population, progress, workers ...); its seeds are the baselines' plans. */
  geneflow?: Omit<GeneflowOptions, 'seeds' | 'simulator' | 'evaluator' | 'rival' | 'timeLimitMs'>;
  /** Run the random-search ablation interleaved with GenEFlow, on GenEFlow's evaluation count (default true). */
  random?: boolean;
  /** Only these methods (names as in results; default all). */
  methods?: string[];
  /** Called when a method starts (each baseline, GenEFlow with random search interleaved, or random search alone). */
  onMethodStart?: (name: string) => void;
  /** Called with each method's result as soon as it is known. */
  onMethodEnd?: (result: MethodResult) => void;
}

export interface AllMethodsResult {
  methods: MethodResult[];
  lowerBoundMs: number;
  lowerBound: LowerBound;
  /**
   * Name of the method with the best plan: the fastest feasible one; when none is feasible, the one with the least
   * memory over the devices' limits (summed over devices), then the fastest.
   */
  best: string;
  history: GeneflowHistoryEntry[];
  /** GenEFlow's run: plans simulated (`structuredSeeds` of them before the first generation), generations, renewals. */
  geneflow: { evaluations: number; structuredSeeds: number; generations: number; restarts: number; stopReason: string };
  /** Each device's whole run of the model alone (`wholeRuns`): what the divisible-load ideal (`idealSplitMs`) is computed from. */
  whole: WholeRun[];
}

/** Every method's name as results carry it: the baselines, GenEFlow and the random-search ablation. */
export const METHOD_NAMES: readonly string[] = [...BASELINES.map((b) => b.name), 'geneflow', 'random'];

/** Share of the partitioning budget by which the baselines must be done. */
export const BASELINE_SHARE = 0.4;
/** Share of the partitioning budget kept for the final simulations (timelines) of every method's plan. */
export const FINISH_RESERVE = 0.05;

/**
 * Every planner on one (model, cluster, order) within one time budget: the baselines, then GenEFlow seeded with all
 * their plans, with the random-search ablation interleaved (after each generation it simulates as many new plans as
 * GenEFlow did, in at most the same time, and GenEFlow takes its best). Each result carries its plan and its full
 * simulation. GenEFlow's plan is never worse than any other method's: it starts from every baseline's plan and
 * adopts random search's best.
 */
export async function runAllMethods(
  model: Model,
  cluster: Cluster,
  order: readonly string[],
  options: AllMethodsOptions = {},
): Promise<AllMethodsResult> {
  const started = performance.now();
  const timeLimitMs = options.timeLimitMs ?? DEFAULT_TIME_LIMIT_MS;
  checkMethods(options.methods);
  const simulator = createSimulator(model, cluster, order);
  const evaluator = new Evaluator(simulator);
  const context: PlanningContext = { model, cluster, simulator, evaluator, deadline: started + timeLimitMs * BASELINE_SHARE };
  const wanted = (name: string) => options.methods === undefined || options.methods.includes(name);
  const methods: MethodResult[] = [];
  const finish = (name: string, decisions: OpDecision[], evaluations: number, searchMs: number): MethodResult => {
    const simulation = simulator.run(decisions);
    return {
      name,
      plan: makePlan(model, cluster, order, decisions, name),
      latencyMs: simulation.latencyMs,
      feasible: simulation.feasible,
      devicePeakBytes: simulation.devicePeakBytes,
      searchMs,
      evaluations,
      simulation,
    };
  };
  const seeds = [];
  for (const baseline of BASELINES) {
    if (!wanted(baseline.name)) continue;
    const t = performance.now();
    options.onMethodStart?.(baseline.name);
    const outcome = await baseline.run(context);
    methods.push(finish(baseline.name, outcome.best.decisions, outcome.candidates, performance.now() - t));
    options.onMethodEnd?.(methods.at(-1)!);
    seeds.push(outcome.best.decisions);
  }
  const whole = wholeRuns(simulator);
  const searchMs = started + timeLimitMs * (1 - FINISH_RESERVE) - performance.now();
  const random = (options.random ?? true) && wanted('random') ? new RandomSearch(simulator, options.geneflow?.seed ?? 1) : undefined;
  let history: GeneflowHistoryEntry[] = [];
  let geneflow = { evaluations: 0, structuredSeeds: 0, generations: 0, restarts: 0, stopReason: 'not run' };
  if (wanted('geneflow')) {
    options.onMethodStart?.('geneflow');
    const result = await runGeneflow(model, cluster, order, {
      ...options.geneflow,
      timeLimitMs: Math.max(0, searchMs),
      seeds,
      simulator,
      evaluator,
      ...(random === undefined ? {} : { rival: random }),
    });
    methods.push(finish('geneflow', result.plan.ops, result.evaluations, result.searchMs));
    options.onMethodEnd?.(methods.at(-1)!);
    history = result.history;
    geneflow = {
      evaluations: result.evaluations,
      structuredSeeds: result.structuredSeeds,
      generations: result.generations,
      restarts: result.restarts,
      stopReason: result.stopReason,
    };
  } else if (random !== undefined) {
    options.onMethodStart?.('random');
    random.step(100, Math.max(0, searchMs));
  }
  if (random !== undefined) {
    methods.push(finish('random', random.best!.decisions, random.evaluations, random.searchMs));
    options.onMethodEnd?.(methods.at(-1)!);
  }
  const best = methods.reduce((a, b) => (better(b, a, cluster) ? b : a));
  return {
    methods,
    lowerBoundMs: simulator.lowerBoundMs,
    lowerBound: simulator.lowerBound,
    best: best.name,
    history,
    geneflow,
    whole,
  };
}

/** Refuses unknown or no method names (one line naming them and the valid ones). */
export function checkMethods(methods: readonly string[] | undefined, what = 'methods'): void {
  if (methods === undefined) return;
  const unknown = methods.filter((m) => !METHOD_NAMES.includes(m));
  if (unknown.length > 0)
    fail(
      `${what}: unknown method${unknown.length > 1 ? 's' : ''} ${unknown.map((m) => `'${m}'`).join(', ')} (valid: ${METHOD_NAMES.join(', ')})`,
      'usage',
    );
  if (methods.length === 0) fail(`${what}: give at least one of ${METHOD_NAMES.join(', ')}`, 'usage');
}

function better(b: MethodResult, a: MethodResult, cluster: Cluster): boolean {
  if (a.feasible !== b.feasible) return b.feasible;
  if (!b.feasible) {
    const over = (m: MethodResult) => deviceMemoryNeeds(cluster, m).reduce((sum, d) => sum + d.overBytes, 0);
    const [overA, overB] = [over(a), over(b)];
    if (overA !== overB) return overB < overA;
  }
  return b.latencyMs < a.latencyMs;
}

/** How much lower latency `ms` is than `againstMs`: 1 − ms / againstMs (negative when it is higher). */
export function latencyGain(ms: number, againstMs: number): number {
  return 1 - ms / againstMs;
}

/**
 * GenEFlow's gain over the fastest feasible other method (every baseline and the random-search ablation):
 * 1 − GenEFlow latency / that method's latency (positive = GenEFlow faster). Undefined when GenEFlow's plan or
 * every other method's plan is infeasible. The one definition `plan`, `bench:plan` and the experiments print
 * (docs/baselines.md).
 */
export function geneflowGain(
  methods: readonly Pick<MethodResult, 'name' | 'latencyMs' | 'feasible'>[],
): { baseline: string; gain: number } | undefined {
  const geneflow = methods.find((m) => m.name === 'geneflow');
  const others = methods.filter((m) => m.feasible && m.name !== 'geneflow');
  if (geneflow === undefined || !geneflow.feasible || others.length === 0) return undefined;
  const best = others.reduce((a, b) => (b.latencyMs < a.latencyMs ? b : a));
  return { baseline: best.name, gain: latencyGain(geneflow.latencyMs, best.latencyMs) };
}

/** One device's memory under a plan: its limit, the plan's peak there (the least memory that plan runs in) and the excess. */
export interface DeviceMemoryNeed {
  device: string;
  limitBytes: number;
  peakBytes: number;
  /** peakBytes − limitBytes when positive, else 0. */
  overBytes: number;
}

/** Per device, what a method's plan needs next to the device's memory limit (`plan` prints it when no plan fits). */
export function deviceMemoryNeeds(cluster: Cluster, method: Pick<MethodResult, 'devicePeakBytes'>): DeviceMemoryNeed[] {
  return cluster.devices.map((device, d) => {
    const limitBytes = deviceMemoryBytes(device);
    const peakBytes = method.devicePeakBytes[d] ?? 0;
    return { device: device.name, limitBytes, peakBytes, overBytes: Math.max(0, peakBytes - limitBytes) };
  });
}
