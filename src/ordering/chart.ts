import type { ChartSpec } from '../report/charts.ts';
import type { OrderPlan } from './plan.ts';

/** Vega-Lite spec: live memory (MiB) at every step of BTSearch's order and of each baseline order. */
export function memoryOverStepsChart(plan: OrderPlan): ChartSpec {
  // Orders with the same live memory at every step would draw over each other: one line, named after all of them.
  const lines = new Map<string, { names: string[]; stepBytes: readonly number[] }>();
  for (const result of [plan.btsearch, ...plan.baselines]) {
    if (result.stepBytes === undefined) continue;
    const key = result.stepBytes.join(',');
    const line = lines.get(key);
    if (line === undefined) lines.set(key, { names: [result.method], stepBytes: result.stepBytes });
    else line.names.push(result.method);
  }
  const values: { step: number; mib: number; method: string }[] = [];
  for (const { names, stepBytes } of lines.values()) {
    const method = names.join(' = ');
    stepBytes.forEach((bytes, step) => values.push({ step, mib: bytes / 2 ** 20, method }));
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${plan.model}: live ${plan.includeWeights ? 'memory (weights included)' : 'activation memory'} per step`,
    width: 720,
    height: 320,
    data: { values },
    mark: { type: 'line', strokeWidth: 1.2 },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'operator step in the order' },
      y: { field: 'mib', type: 'quantitative', title: 'live MiB' },
      color: { field: 'method', type: 'nominal', title: 'order', legend: { labelLimit: 0 } },
      strokeDash: { condition: { test: "indexof(datum.method, 'btsearch') === 0", value: [1, 0] }, value: [4, 2] },
    },
  } as ChartSpec;
}
