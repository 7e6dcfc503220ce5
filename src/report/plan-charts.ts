import type { MethodResult } from '../pipeline/methods.ts';
import { deviceMemoryBytes, type Cluster } from '../cluster/types.ts';
import type { GeneflowHistoryEntry } from '../geneflow/geneflow.ts';
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
  const values = history.flatMap((h) => [
    { generation: h.generation, ms: h.best, series: 'best' },
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
      color: { field: 'series', type: 'nominal', title: null },
    },
  } as ChartSpec;
}

/** Each device's peak memory under one plan (weights of its slices + live activations) against its limit. */
export function deviceMemoryChart(result: MethodResult, cluster: Cluster, title: string): ChartSpec {
  const values = cluster.devices.map((device, i) => ({
    device: `${i}: ${device.name}`,
    peakMB: (result.devicePeakBytes[i] ?? 0) / 1e6,
    limitMB: deviceMemoryBytes(device) / 1e6,
  }));
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
          x: { field: 'peakMB', type: 'quantitative', title: 'MB (peak bar, limit tick)' },
          color: { condition: { test: 'datum.peakMB > datum.limitMB', value: '#e45756' }, value: '#4c78a8' },
        },
      },
      {
        mark: { type: 'tick', color: 'black', thickness: 2 },
        encoding: { y: { field: 'device', type: 'nominal', sort: null }, x: { field: 'limitMB', type: 'quantitative' } },
      },
    ],
  } as ChartSpec;
}
