import { runAllMethods, type AllMethodsOptions, type AllMethodsResult } from './methods.ts';
import type { Cluster } from '../cluster/types.ts';
import { DEFAULT_TIME_LIMIT_MS } from '../geneflow/geneflow.ts';
import type { Model } from '../ir/graph.ts';
import type { BTSearchProgress } from '../ordering/btsearch.ts';
import { planOrder, type OrderPlan } from '../ordering/plan.ts';

export interface PlanJob {
  model: Model;
  cluster: Cluster;
  /** BTSearch's least-memory order and the ordering baselines. */
  order: OrderPlan;
  /** Every partitioning method on that order. */
  result: AllMethodsResult;
}

export interface PlanJobOptions extends AllMethodsOptions {
  /** Wall-clock budget (ms) of the whole job: BTSearch, every baseline, random search and GenEFlow (default 20 000). */
  timeLimitMs?: number;
  /** Upper limit on BTSearch's share (ms); it gets at most ORDER_SHARE of the job's budget. */
  orderTimeLimitMs?: number;
  /** Called when BTSearch starts, with its budget (ms). */
  onOrderStart?: (timeLimitMs: number) => void;
  /** BTSearch's progress after every budget probe. */
  onOrderProgress?: (progress: BTSearchProgress) => void;
  /** Called once BTSearch is done, before partitioning starts. */
  onOrder?: (order: OrderPlan) => void;
}

/** Share of the job's budget BTSearch may use at most (it usually proves its order optimal in far less). */
export const ORDER_SHARE = 0.25;

/**
 * The main job within one time budget: the least-memory operator order (BTSearch, at most ORDER_SHARE of the
 * budget), then GenEFlow and every baseline partitioning it in the time left.
 */
export async function runPlanJob(model: Model, cluster: Cluster, options: PlanJobOptions = {}): Promise<PlanJob> {
  const started = performance.now();
  const timeLimitMs = options.timeLimitMs ?? DEFAULT_TIME_LIMIT_MS;
  const orderLimitMs = Math.min(options.orderTimeLimitMs ?? Number.POSITIVE_INFINITY, timeLimitMs * ORDER_SHARE);
  options.onOrderStart?.(orderLimitMs);
  const order = planOrder(model, {
    timeLimitMs: orderLimitMs,
    ...(options.onOrderProgress === undefined ? {} : { onProgress: options.onOrderProgress }),
  });
  options.onOrder?.(order);
  const left = Math.max(0, started + timeLimitMs - performance.now());
  const result = await runAllMethods(model, cluster, order.orderNames, { ...options, timeLimitMs: left });
  return { model, cluster, order, result };
}
