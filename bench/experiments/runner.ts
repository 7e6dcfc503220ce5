import { BASELINES } from '../../src/baselines/index.ts';
import { geneflowGain as geneflowGainOf, runAllMethods } from '../../src/pipeline/methods.ts';
import type { Cluster } from '../../src/cluster/types.ts';
import type { Model } from '../../src/ir/graph.ts';
import { loadModel } from '../../src/model/load.ts';
import { planOrder, type OrderPlan } from '../../src/ordering/plan.ts';

export interface MethodRow {
  name: string;
  latencyMs: number;
  /** latencyMs / the cluster's lower bound (docs/latency.md). */
  ratioToBound: number;
  feasible: boolean;
  /** Largest per-device peak (weights + live activations) of the method's plan. */
  maxDevicePeakBytes: number;
  searchMs: number;
}

/** Every method on one (model, cluster), planned on BTSearch's least-memory order. */
export interface CaseResult {
  model: string;
  cluster: string;
  devices: number;
  lowerBoundMs: number;
  best: string;
  methods: MethodRow[];
  geneflow: { evaluations: number; generations: number; restarts: number; stopReason: string };
  wallMs: number;
}

export interface RunnerOptions {
  /** Partitioning budget per run (every baseline, GenEFlow and random search), ms. */
  timeLimitMs: number;
  /** BTSearch's time limit per model, ms. */
  orderTimeLimitMs: number;
  seed: number;
  /** Called after every run (progress). */
  onCase?: (result: CaseResult) => void;
}

export const GENEFLOW = 'geneflow';
/** GenEFlow without tiles (experiment (b)'s extra column). */
export const UNTILED_GENEFLOW = 'geneflow-untiled';

/** Every method runAllMethods runs, in the order it reports them. */
export const METHOD_NAMES: readonly string[] = [...BASELINES.map((b) => b.name), GENEFLOW, 'random'];

/** Runs every planner on (model, cluster) pairs, loading each model and searching its order once. */
export class ExperimentRunner {
  private readonly models = new Map<string, { model: Model; order: OrderPlan }>();
  readonly options: RunnerOptions;

  constructor(options: RunnerOptions) {
    this.options = options;
  }

  prepared(name: string): { model: Model; order: OrderPlan } {
    let entry = this.models.get(name);
    if (entry === undefined) {
      const model = loadModel(name);
      entry = { model, order: planOrder(model, { timeLimitMs: this.options.orderTimeLimitMs, seed: this.options.seed }) };
      this.models.set(name, entry);
    }
    return entry;
  }

  /**
   * Every method on (model, cluster); with `untiledGeneflow` also GenEFlow without tiles (docs/geneflow.md, "Tiles") in a
   * second run of the baselines and GenEFlow on the same budget, reported as the method `geneflow-untiled`.
   */
  async run(modelName: string, cluster: Cluster, extra: { untiledGeneflow?: boolean } = {}): Promise<CaseResult> {
    const { model, order } = this.prepared(modelName);
    const started = performance.now();
    const all = await runAllMethods(model, cluster, order.orderNames, {
      timeLimitMs: this.options.timeLimitMs,
      geneflow: { seed: this.options.seed },
    });
    if (extra.untiledGeneflow === true) {
      const untiled = await runAllMethods(model, cluster, order.orderNames, {
        timeLimitMs: this.options.timeLimitMs,
        geneflow: { seed: this.options.seed, tiles: false },
        methods: [...BASELINES.map((b) => b.name), GENEFLOW],
        random: false,
      });
      all.methods.push({ ...untiled.methods.find((m) => m.name === GENEFLOW)!, name: UNTILED_GENEFLOW });
    }
    const result: CaseResult = {
      model: modelName,
      cluster: cluster.name,
      devices: cluster.devices.length,
      lowerBoundMs: all.lowerBoundMs,
      best: all.best,
      methods: all.methods.map((m) => ({
        name: m.name,
        latencyMs: m.latencyMs,
        ratioToBound: m.latencyMs / all.lowerBoundMs,
        feasible: m.feasible,
        maxDevicePeakBytes: Math.max(...m.devicePeakBytes),
        searchMs: m.searchMs,
      })),
      geneflow: all.geneflow,
      wallMs: performance.now() - started,
    };
    this.options.onCase?.(result);
    return result;
  }
}

/**
 * GenEFlow's gain over the best other method (src/pipeline/methods.ts `geneflowGain`, the one definition):
 * 1 − geneflow / latency of the fastest feasible other method (every baseline and random search); positive when
 * GenEFlow is faster. Undefined when GenEFlow or every other method has no feasible plan.
 */
export function geneflowGain(result: Pick<CaseResult, 'methods'>): number | undefined {
  return geneflowGainOf(result.methods)?.gain;
}
