import type { FitResult } from './fit.ts';

/** The fit plan file (docs/fit.md, "Plan file"): the order and every group of the chosen execution. */
export interface FitPlanFile {
  format: 'memorianova-fit';
  version: 1;
  model: string;
  fingerprint: string;
  device: string;
  limitBytes: number;
  peakBytes: number;
  latencyMs: number;
  includeWeights: boolean;
  order: string[];
  groups: Array<{ first: string; last: string; rows: number; cols: number }>;
}

/** The plan file of the chosen execution (the least-peak one when nothing fits). */
export function fitPlanOf(result: FitResult): FitPlanFile {
  const e = result.best ?? result.leastPeak;
  return {
    format: 'memorianova-fit',
    version: 1,
    model: result.model,
    fingerprint: result.fingerprint,
    device: result.device,
    limitBytes: result.limitBytes,
    peakBytes: e.peakBytes,
    latencyMs: e.latencyMs,
    includeWeights: result.includeWeights,
    order: result.order,
    groups: e.groups.map((g) => ({ first: g.first, last: g.last, rows: g.rows, cols: g.cols })),
  };
}
