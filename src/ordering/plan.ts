import type { Model } from '../ir/graph.ts';
import { modelFingerprint } from '../model/fingerprint.ts';
import { arenaBlocks, greedyBySize, planArena } from '../memory/arena.ts';
import { memoryGraphOf, weightBytesOf } from '../memory/graph.ts';
import { evaluateOrder } from '../memory/model.ts';
import { baselines, incumbentsOf, type BaselineMethod } from './baselines.ts';
import { btsearch, type BTSearchProgress } from './btsearch.ts';

/** BTSearch's default budget, the one `order`, `plan` and `simulate` use (it usually proves its order optimal in far less). */
export const DEFAULT_ORDER_TIME_LIMIT_MS = 30_000;

export interface OrderPlanOptions {
  inplace?: boolean;
  includeWeights?: boolean;
  /** BTSearch budget in milliseconds (default DEFAULT_ORDER_TIME_LIMIT_MS). */
  timeLimitMs?: number;
  /** BTSearch's progress after every budget probe. */
  onProgress?: (progress: BTSearchProgress) => void;
  randomSamples?: number;
  seed?: number;
  /** Tensors inside a fusion group take no memory (memoryGraphOf's `fuse`; default false, comparable with HMCOS). */
  fuse?: boolean;
}

export interface MethodResult {
  method: 'btsearch' | BaselineMethod;
  peakBytes: number;
  /** Live bytes at every step of the method's order (absent for random-mean, an average of many orders). */
  stepBytes?: number[];
}

export interface OrderPlan {
  model: string;
  /** The model's fingerprint (src/model/fingerprint.ts): ties a saved order to its model. */
  fingerprint: string;
  operators: number;
  /** BTSearch's order, operator indices and names. */
  order: number[];
  orderNames: string[];
  peakBytes: number;
  optimal: boolean;
  lowerBoundBytes: number;
  timeMs: number;
  statesVisited: number;
  segments: number;
  searchedSegments: number;
  baselines: MethodResult[];
  btsearch: MethodResult;
  /** Activation arena for BTSearch's order: the better search and TFLite's greedy by size (activations only). */
  arenaBytes: number;
  arenaMethod: string;
  arenaGreedyBytes: number;
  /** Weights, counted into every peak above only with includeWeights. */
  weightBytes: number;
  includeWeights: boolean;
  inplace: boolean;
  fuse: boolean;
}

/** Baselines, BTSearch seeded with the best of them, and the arena for the winning order. */
export function planOrder(model: Model, options: OrderPlanOptions = {}): OrderPlan {
  const inplace = options.inplace ?? true;
  const includeWeights = options.includeWeights ?? false;
  const graph = memoryGraphOf(model, { fuse: options.fuse ?? false });
  const weightBytes = weightBytesOf(model);
  const constant = includeWeights ? weightBytes : 0;
  const memory = { inplace, includeWeights };
  const baselineResults = baselines(graph, {
    inplace,
    ...(options.randomSamples === undefined ? {} : { randomSamples: options.randomSamples }),
    ...(options.seed === undefined ? {} : { seed: options.seed }),
  });
  const search = btsearch(graph, {
    inplace,
    timeLimitMs: options.timeLimitMs ?? DEFAULT_ORDER_TIME_LIMIT_MS,
    incumbents: incumbentsOf(baselineResults),
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
  });
  const profile = evaluateOrder(graph, search.order, memory, weightBytes);
  const blocks = arenaBlocks(graph, search.order, { inplace });
  const arena = planArena(blocks);
  return {
    model: model.name,
    fingerprint: modelFingerprint(model),
    operators: graph.ops.length,
    order: search.order,
    orderNames: search.order.map((i) => graph.ops[i]!.name),
    peakBytes: profile.peakBytes,
    optimal: search.optimal,
    lowerBoundBytes: search.lowerBoundBytes + constant,
    timeMs: search.timeMs,
    statesVisited: search.statesVisited,
    segments: search.segments,
    searchedSegments: search.searchedSegments,
    baselines: baselineResults.map((b) => {
      if (b.order === undefined) return { method: b.method, peakBytes: b.peakBytes + constant };
      const p = evaluateOrder(graph, b.order, memory, weightBytes);
      return { method: b.method, peakBytes: p.peakBytes, stepBytes: p.stepBytes };
    }),
    btsearch: { method: 'btsearch', peakBytes: profile.peakBytes, stepBytes: profile.stepBytes },
    arenaBytes: arena.arenaBytes,
    arenaMethod: arena.method,
    arenaGreedyBytes: greedyBySize(blocks).arenaBytes,
    weightBytes,
    includeWeights,
    inplace,
    fuse: options.fuse ?? false,
  };
}
