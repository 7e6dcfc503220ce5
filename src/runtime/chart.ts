import type { ChartSpec } from '../report/charts.ts';
import type { RunReport } from './run.ts';

/**
 * Measured beside predicted for one run (docs/runtime.md, "Measurements"): end-to-end latency and each worker's
 * compute and send time, as grouped bars.
 */
export function runChartSpec(report: RunReport): ChartSpec {
  const rows: Array<{ what: string; source: string; ms: number }> = [
    { what: 'end-to-end', source: 'measured', ms: report.measuredMs },
    { what: 'end-to-end', source: 'predicted', ms: report.predictedMs },
  ];
  for (const w of report.workers) {
    rows.push(
      { what: `${w.name} compute`, source: 'measured', ms: w.computeMs },
      { what: `${w.name} compute`, source: 'predicted', ms: w.predictedComputeMs },
    );
    rows.push(
      { what: `${w.name} send`, source: 'measured', ms: w.sendMs },
      { what: `${w.name} send`, source: 'predicted', ms: w.predictedSendMs },
    );
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${report.model}, ${report.method} plan on ${report.cluster}: measured ${report.measuredMs.toFixed(1)} ms, predicted ${report.predictedMs.toFixed(1)} ms (${report.errorPercent >= 0 ? '+' : ''}${report.errorPercent.toFixed(1)}%)`,
    data: { values: rows },
    mark: 'bar',
    width: { step: 14 },
    height: 260,
    encoding: {
      x: { field: 'what', type: 'nominal', title: null, sort: null, axis: { labelAngle: -40 } },
      xOffset: { field: 'source' },
      y: { field: 'ms', type: 'quantitative', title: 'milliseconds' },
      color: { field: 'source', type: 'nominal', title: null },
    },
  };
}
