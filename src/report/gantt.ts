import type { TimelineEvent } from '../simulate/types.ts';
import type { ChartSpec } from './charts.ts';

const KIND_COLOURS: Record<string, string> = { compute: '#4c78a8', send: '#f58518', receive: '#54a24b', forward: '#b279a2', idle: '#dddddd' };

/** Per-device timeline of one plan (a Gantt chart): one lane per device and one for the router. */
export function ganttChart(events: readonly TimelineEvent[], title: string): ChartSpec {
  const values = events
    .filter((e) => e.endMs > e.startMs && e.kind !== 'idle')
    .map((e) => ({ lane: e.lane, kind: e.kind, start: e.startMs, end: e.endMs, what: e.op ?? e.tensor ?? '' }));
  const kinds = Object.keys(KIND_COLOURS).filter((k) => values.some((v) => v.kind === k));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 760,
    height: { step: 28 },
    data: { values },
    mark: { type: 'bar', height: { band: 0.8 } },
    encoding: {
      y: { field: 'lane', type: 'nominal', title: null, sort: null },
      x: { field: 'start', type: 'quantitative', title: 'time (ms)' },
      x2: { field: 'end' },
      color: { field: 'kind', type: 'nominal', title: null, scale: { domain: kinds, range: kinds.map((k) => KIND_COLOURS[k]!) } },
      tooltip: [{ field: 'lane' }, { field: 'kind' }, { field: 'what' }, { field: 'start' }, { field: 'end' }],
    },
  } as ChartSpec;
}
