import type { Cluster } from '../cluster/types.ts';
import type { ModelOptions } from '../ir/graph.ts';
import type { OpDecision } from '../partition/types.ts';

export const PLAN_FORMAT = 'memorianova-plan';
export const PLAN_VERSION = 1;

/** A plan file (JSON). Self-describing: it carries the model's fingerprint, the cluster and the operator order. */
export interface Plan {
  format: typeof PLAN_FORMAT;
  version: typeof PLAN_VERSION;
  /** Which planner made it (`single`, `proportional`, `geneflow`, ...). */
  method: string;
  /** `options`: what the model was loaded with (zoo sizes, shape bindings), so `run`/`simulate`/`deploy` rebuild it. */
  model: { name: string; fingerprint: string; options?: ModelOptions };
  cluster: Cluster;
  /** Every operator name once, in a topological order: each device runs its slices in this order. */
  order: string[];
  /** One decision per operator, in `order`. */
  ops: OpDecision[];
}
