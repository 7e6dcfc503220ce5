import type { ChartSpec } from '../report/charts.ts';
import type { FitResult } from './fit.ts';

/** Vega-Lite spec: the Pareto front of peak memory (MiB) against latency (ms), with the limit as a rule. */
export function frontChart(result: FitResult): ChartSpec {
  const values = result.front.map((e) => ({ mib: e.peakBytes / 2 ** 20, ms: e.latencyMs, groups: e.groups.length }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${result.model} on ${result.device}: least latency per peak memory (fused tiling)`,
    width: 640,
    height: 320,
    layer: [
      {
        data: { values },
        mark: { type: 'line', point: true, interpolate: 'step-after' },
        encoding: {
          x: { field: 'mib', type: 'quantitative', title: `peak ${result.includeWeights ? 'memory' : 'activation memory'} (MiB)` },
          y: { field: 'ms', type: 'quantitative', title: 'latency (ms)', scale: { zero: false } },
          tooltip: [{ field: 'groups', type: 'quantitative' }],
        },
      },
      {
        data: { values: [{ mib: result.limitBytes / 2 ** 20 }] },
        mark: { type: 'rule', strokeDash: [4, 2], color: 'firebrick' },
        encoding: { x: { field: 'mib', type: 'quantitative' } },
      },
    ],
  } as ChartSpec;
}
