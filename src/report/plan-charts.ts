import type { MethodResult } from '../pipeline/methods.ts';
import { deviceMemoryBytes, type Cluster } from '../cluster/types.ts';
import type { GeneflowHistoryEntry } from '../geneflow/geneflow.ts';
import { INFEASIBLE_PENALTY_MS } from '../geneflow/fitness.ts';
import type { ChartSpec } from './charts.ts';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** Horizontal bars: simulated latency of every method, the lower bound as a rule. */
export function latencyByMethodChart(methods: readonly MethodResult[], lowerBoundMs: number, title: string): ChartSpec {
  const values = methods.map((m) => ({
    method: m.name,
    latencyMs: m.latencyMs,
    feasible: m.feasible ? 'feasible' : 'over a memory limit',
  }));
  return {
    $schema: SCHEMA,
    title,
    width: 560,
    height: { step: 22 },
    layer: [
      {
        data: { values },
        mark: 'bar',
        encoding: {
          y: { field: 'method', type: 'nominal', sort: { field: 'latencyMs', order: 'ascending' }, title: null },
          x: { field: 'latencyMs', type: 'quantitative', title: 'simulated latency (ms)' },
          color: {
            field: 'feasible',
            type: 'nominal',
            title: null,
            scale: { domain: ['feasible', 'over a memory limit'], range: ['#4c78a8', '#e45756'] },
          },
        },
      },
      {
        data: { values: [{ bound: lowerBoundMs }] },
        mark: { type: 'rule', color: 'black', strokeDash: [4, 3] },
        encoding: { x: { field: 'bound', type: 'quantitative' } },
      },
    ],
  } as ChartSpec;
}

/** GenEFlow's best and mean fitness per generation. */
export function convergenceChart(history: readonly GeneflowHistoryEntry[], title: string): ChartSpec {
  // A best fitness at or past the penalty is no latency (nothing feasible yet): it is not plotted as one.
  const values = history.flatMap((h) => [
    ...(h.best < INFEASIBLE_PENALTY_MS ? [{ generation: h.generation, ms: h.best, series: 'best' }] : []),
    ...(Number.isFinite(h.mean) ? [{ generation: h.generation, ms: h.mean, series: 'population mean (feasible)' }] : []),
  ]);
  return {
    $schema: SCHEMA,
    title,
    width: 560,
    height: 260,
    data: { values },
    mark: { type: 'line', point: false },
    encoding: {
      x: { field: 'generation', type: 'quantitative' },
      y: { field: 'ms', type: 'quantitative', title: 'fitness (ms)', scale: { zero: false } },
      color: { field: 'series', type: 'nominal', title: null, legend: { labelLimit: 0 } },
    },
  } as ChartSpec;
}

/**
 * Each device's peak memory under one plan (weights of its slices + live activations) against its limit. The axis
 * zooms on the peaks when every peak is far below its limit (an 8 MiB peak beside a 1 GiB limit stays readable);
 * each bar is labelled with its peak and limit, and ticks beyond the axis are clipped.
 */
export function deviceMemoryChart(result: MethodResult, cluster: Cluster, title: string): ChartSpec {
  const values = cluster.devices.map((device, i) => {
    const peakMiB = (result.devicePeakBytes[i] ?? 0) / 2 ** 20;
    const limitMiB = deviceMemoryBytes(device) / 2 ** 20;
    return { device: `${i}: ${device.name}`, peakMiB, limitMiB, label: `${peakMiB.toFixed(2)} of ${limitMiB.toFixed(0)} MiB` };
  });
  const nearLimit = values.some((v) => v.peakMiB > v.limitMiB / 4);
  const top = Math.max(1e-3, ...values.map((v) => (nearLimit ? Math.max(v.peakMiB, v.limitMiB) * 1.05 : v.peakMiB * 1.35)));
  const x = { type: 'quantitative' as const, scale: { domain: [0, top] } };
  return {
    $schema: SCHEMA,
    title,
    width: 480,
    height: { step: 26 },
    data: { values },
    layer: [
      {
        mark: 'bar',
        encoding: {
          y: { field: 'device', type: 'nominal', title: null, sort: null },
          x: {
            field: 'peakMiB',
            ...x,
            title: nearLimit ? 'MiB (peak bar, limit tick)' : 'MiB (peak bar; every limit is far beyond this axis)',
          },
          color: { condition: { test: 'datum.peakMiB > datum.limitMiB', value: '#e45756' }, value: '#4c78a8' },
        },
      },
      {
        mark: { type: 'tick', color: 'black', thickness: 2, clip: true },
        encoding: { y: { field: 'device', type: 'nominal', sort: null }, x: { field: 'limitMiB', ...x } },
      },
      {
        mark: { type: 'text', align: 'left', dx: 4, color: '#333' },
        encoding: { y: { field: 'device', type: 'nominal', sort: null }, x: { field: 'peakMiB', ...x }, text: { field: 'label' } },
      },
    ],
  } as ChartSpec;
}
