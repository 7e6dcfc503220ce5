import type { Cluster } from '../cluster/types.ts';

/**
 * The dimensions an operator's output can be split along (docs/plan-format.md, docs/partition.md):
 * - `rows`: output height H of NCHW tensors (convolution, pooling, element-wise);
 * - `channels`: output channels (C of NCHW, the last axis of Gemm/MatMul and of [B,T,C] tensors); weights split with them;
 * - `tokens`: the sequence axis (rows of MatMul/Gemm, T of [B,T,C] and of [B,heads,T,d]);
 * - `heads`: attention heads (axis 1 of [B,heads,T,d] tensors).
 */
export type SplitDim = 'rows' | 'channels' | 'tokens' | 'heads';

export const SPLIT_DIMS: readonly SplitDim[] = ['rows', 'channels', 'tokens', 'heads'];

/**
 * Where an operator runs: whole on one device (index into `cluster.devices`), or split along `dim` with one
 * non-negative ratio per device (0 = the device takes no part; ratios need not sum to 1).
 */
export type Placement = { device: number } | { dim: SplitDim; ratios: number[] };

/**
 * One operator's decision. `sync: true` (a synchronisation point) materialises the operator's output as the
 * devices' slices; consumers fetch what they need through the router. `sync: false` fuses the operator into
 * its consumers (which must all have the same placement): each device computes the region its own consumer
 * slices need (halo included, recomputed where regions overlap) and nothing is communicated in between.
 */
export interface OpDecision {
  op: string;
  placement: Placement;
  sync: boolean;
}

export const PLAN_FORMAT = 'memorianova-plan';
export const PLAN_VERSION = 1;

/** A plan file (JSON). Self-describing: it carries the model's fingerprint, the cluster and the operator order. */
export interface Plan {
  format: typeof PLAN_FORMAT;
  version: typeof PLAN_VERSION;
  /** Which planner made it (`single`, `proportional`, `geneflow`, ...). */
  method: string;
  model: { name: string; fingerprint: string };
  cluster: Cluster;
  /** Every operator name once, in a topological order: each device runs its slices in this order. */
  order: string[];
  /** One decision per operator, in `order`. */
  ops: OpDecision[];
}
