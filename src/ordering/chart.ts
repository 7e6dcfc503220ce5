import type { ChartSpec } from '../report/charts.ts';
import type { OrderPlan } from './plan.ts';

/** Vega-Lite spec: live memory (MB) at every step of BTSearch's order and of each baseline order. */
export function memoryOverStepsChart(plan: OrderPlan): ChartSpec {
  const values: { step: number; mb: number; method: string }[] = [];
  for (const result of [plan.btsearch, ...plan.baselines]) {
    result.stepBytes?.forEach((bytes, step) => values.push({ step, mb: bytes / 1e6, method: result.method }));
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
      y: { field: 'mb', type: 'quantitative', title: 'live MB' },
      color: { field: 'method', type: 'nominal', title: 'order' },
      strokeDash: { condition: { test: "datum.method === 'btsearch'", value: [1, 0] }, value: [4, 2] },
    },
  } as ChartSpec;
}
