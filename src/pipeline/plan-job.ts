import { runAllMethods, type AllMethodsOptions, type AllMethodsResult } from './methods.ts';
import type { Cluster } from '../cluster/types.ts';
import type { Model } from '../ir/graph.ts';
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
  /** BTSearch budget (ms). */
  orderTimeLimitMs?: number;
  /** Called once BTSearch is done, before partitioning starts. */
  onOrder?: (order: OrderPlan) => void;
}

/** The main job: the least-memory operator order, then GenEFlow and every baseline partitioning it. */
export async function runPlanJob(model: Model, cluster: Cluster, options: PlanJobOptions = {}): Promise<PlanJob> {
  const order = planOrder(model, { timeLimitMs: options.orderTimeLimitMs ?? 30_000 });
  options.onOrder?.(order);
  const result = await runAllMethods(model, cluster, order.orderNames, options);
  return { model, cluster, order, result };
}
