import { existsSync, readFileSync } from 'node:fs';
import { fail } from '../errors.ts';
import type { Model } from '../ir/graph.ts';
import { memoryGraphOf } from '../memory/graph.ts';
import { checkOrder } from '../memory/model.ts';
import { modelFingerprint } from '../model/fingerprint.ts';
import type { OrderPlan } from './plan.ts';

/** What `order --out` writes: the order by operator names, its numbers, and the model it belongs to. */
export interface SavedOrder {
  model: string;
  fingerprint: string;
  order: string[];
  peakBytes: number;
  optimal: boolean;
  lowerBoundBytes: number;
  arenaBytes: number;
  inplace: boolean;
  includeWeights: boolean;
}

export function savedOrderOf(plan: OrderPlan): SavedOrder {
  return {
    model: plan.model,
    fingerprint: plan.fingerprint,
    order: plan.orderNames,
    peakBytes: plan.peakBytes,
    optimal: plan.optimal,
    lowerBoundBytes: plan.lowerBoundBytes,
    arenaBytes: plan.arenaBytes,
    inplace: plan.inplace,
    includeWeights: plan.includeWeights,
  };
}

/**
 * Reads an order saved by `order --out` for `model` and returns it as operator indices (model.ops order).
 * Fails, naming the file, when it belongs to a different model or is not a valid order of this one.
 */
export function loadSavedOrder(file: string, model: Model): number[] {
  if (!existsSync(file)) fail(`order file '${file}' does not exist`);
  let saved: Partial<SavedOrder>;
  try {
    saved = JSON.parse(readFileSync(file, 'utf8')) as Partial<SavedOrder>;
  } catch {
    fail(`order file '${file}' is not JSON`);
  }
  if (!Array.isArray(saved.order) || saved.order.some((name) => typeof name !== 'string'))
    fail(`order file '${file}' has no 'order' list of operator names`);
  const graph = memoryGraphOf(model);
  if (saved.fingerprint !== undefined && saved.fingerprint !== modelFingerprint(model)) {
    fail(`order file '${file}' was made for model '${saved.model ?? '?'}' with a different graph than '${model.name}'`, 'invalid-plan');
  }
  const index = new Map(graph.ops.map((op, i) => [op.name, i]));
  const order = saved.order.map(
    (name) =>
      index.get(name) ?? fail(`order file '${file}' names operator '${name}', which model '${model.name}' does not have`, 'invalid-plan'),
  );
  checkOrder(graph, order);
  return order;
}
