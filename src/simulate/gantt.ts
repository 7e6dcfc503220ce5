import type { ChartSpec } from '../report/charts.ts';
import type { SimulationResult } from './types.ts';

/**
 * Vega-Lite Gantt chart of a simulation: one row per device resource (compute, send, receive) and one for the
 * router's forwarding; bars from start to end in ms, coloured by kind. Idle time shows as the gaps.
 */
export function ganttChartSpec(result: SimulationResult, title: string): ChartSpec {
  const values = (result.timeline ?? [])
    .filter((e) => e.kind !== 'idle' && e.endMs > e.startMs)
    .map((e) => ({
      row: e.device < 0 ? `${e.lane} forward` : `${e.lane} ${e.kind}`,
      kind: e.kind,
      start: e.startMs,
      end: e.endMs,
      what: e.op ?? e.tensor ?? '',
    }));
  const rows = [...new Set(values.map((v) => v.row))];
  const lanes = [...new Set((result.timeline ?? []).map((e) => e.lane))];
  const sort = lanes
    .flatMap((lane) => ['compute', 'send', 'receive', 'forward'].map((kind) => `${lane} ${kind}`))
    .filter((r) => rows.includes(r));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${title}: ${result.latencyMs.toFixed(1)} ms (lower bound ${result.lowerBoundMs.toFixed(1)} ms)`,
    width: 760,
    height: Math.max(120, 18 * sort.length),
    data: { values },
    mark: { type: 'bar', cornerRadius: 1 },
    encoding: {
      y: { field: 'row', type: 'nominal', sort, title: null },
      x: { field: 'start', type: 'quantitative', title: 'time (ms)', scale: { domain: [0, result.latencyMs] } },
      x2: { field: 'end' },
      color: {
        field: 'kind',
        type: 'nominal',
        title: null,
        scale: { domain: ['compute', 'send', 'receive', 'forward'], range: ['#4c78a8', '#f58518', '#54a24b', '#b279a2'] },
      },
      tooltip: [{ field: 'what' }, { field: 'start' }, { field: 'end' }],
    },
  } as ChartSpec;
}
