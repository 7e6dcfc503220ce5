import type { Cluster } from '../cluster/types.ts';
import { BASELINES } from '../baselines/index.ts';
import type { BaselineOutcome, PlanningContext } from '../baselines/common.ts';
import { randomSearch } from '../baselines/random.ts';
import { Evaluator } from '../geneflow/fitness.ts';
import { runGeneflow, type GeneflowHistoryEntry, type GeneflowOptions } from '../geneflow/geneflow.ts';
import type { Model } from '../ir/graph.ts';
import { makePlan } from '../plan/build.ts';
import type { Plan } from '../plan/types.ts';
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
  /** GenEFlow options (seed, time limit, population, progress, workers ...); its seeds are the baselines' plans. */
  geneflow?: Omit<GeneflowOptions, 'seeds' | 'simulator' | 'evaluator'>;
  /** Run the random-search ablation with GenEFlow's evaluation count (default true). */
  random?: boolean;
  /** Only these methods (names as in results; default all). */
  methods?: string[];
}

export interface AllMethodsResult {
  methods: MethodResult[];
  lowerBoundMs: number;
  lowerBound: LowerBound;
  /** Name of the method with the best plan (feasible first, then lowest latency). */
  best: string;
  history: GeneflowHistoryEntry[];
  geneflow: { evaluations: number; generations: number; stopReason: string };
}

/**
 * Every planner on one (model, cluster, order): the baselines, GenEFlow seeded with all their plans, and random
 * search with GenEFlow's evaluation budget. Each result carries its plan and its full simulation.
 */
export async function runAllMethods(
  model: Model,
  cluster: Cluster,
  order: readonly string[],
  options: AllMethodsOptions = {},
): Promise<AllMethodsResult> {
  const simulator = createSimulator(model, cluster, order);
  const evaluator = new Evaluator(simulator);
  const context: PlanningContext = { model, cluster, simulator, evaluator };
  const wanted = (name: string) => options.methods === undefined || options.methods.includes(name);
  const methods: MethodResult[] = [];
  const finish = (name: string, outcome: BaselineOutcome, searchMs: number): MethodResult => {
    const decisions = outcome.best.decisions;
    const simulation = simulator.run(decisions);
    return {
      name,
      plan: makePlan(model, cluster, order, decisions, name),
      latencyMs: simulation.latencyMs,
      feasible: simulation.feasible,
      devicePeakBytes: simulation.devicePeakBytes,
      searchMs,
      evaluations: outcome.candidates,
      simulation,
    };
  };
  const seeds = [];
  for (const baseline of BASELINES) {
    if (!wanted(baseline.name)) continue;
    const started = performance.now();
    const outcome = await baseline.run(context);
    methods.push(finish(baseline.name, outcome, performance.now() - started));
    seeds.push(outcome.best.decisions);
  }
  let history: GeneflowHistoryEntry[] = [];
  let geneflow = { evaluations: 0, generations: 0, stopReason: 'not run' };
  if (wanted('geneflow')) {
    const result = await runGeneflow(model, cluster, order, { ...options.geneflow, seeds, simulator, evaluator });
    const simulation = simulator.run(result.plan.ops);
    methods.push({
      name: 'geneflow',
      plan: result.plan,
      latencyMs: simulation.latencyMs,
      feasible: simulation.feasible,
      devicePeakBytes: simulation.devicePeakBytes,
      searchMs: result.searchMs,
      evaluations: result.evaluations,
      simulation,
    });
    history = result.history;
    geneflow = { evaluations: result.evaluations, generations: result.generations, stopReason: result.stopReason };
  }
  if ((options.random ?? true) && wanted('random')) {
    const started = performance.now();
    const budget = geneflow.evaluations > 0 ? geneflow.evaluations : 100;
    methods.push(finish('random', randomSearch(context, budget, options.geneflow?.seed ?? 1), performance.now() - started));
  }
  const best = methods.reduce((a, b) => ((b.feasible && !a.feasible) || (b.feasible === a.feasible && b.latencyMs < a.latencyMs) ? b : a));
  return { methods, lowerBoundMs: simulator.lowerBoundMs, lowerBound: simulator.lowerBound, best: best.name, history, geneflow };
}

/**
 * GenEFlow's gain over the fastest feasible baseline: 1 − GenEFlow latency / that baseline's latency (positive =
 * GenEFlow faster). Random search is GenEFlow's ablation, not a baseline. Undefined when GenEFlow's plan or every
 * baseline's plan is infeasible. The one definition `plan`, `bench:plan` and the experiments print (docs/baselines.md).
 */
export function geneflowGain(
  methods: readonly Pick<MethodResult, 'name' | 'latencyMs' | 'feasible'>[],
): { baseline: string; gain: number } | undefined {
  const geneflow = methods.find((m) => m.name === 'geneflow');
  const baselines = methods.filter((m) => m.feasible && BASELINES.some((b) => b.name === m.name));
  if (geneflow === undefined || !geneflow.feasible || baselines.length === 0) return undefined;
  const best = baselines.reduce((a, b) => (b.latencyMs < a.latencyMs ? b : a));
  return { baseline: best.name, gain: 1 - geneflow.latencyMs / best.latencyMs };
}
