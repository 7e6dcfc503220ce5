import type { Cluster } from '../../src/cluster/types.ts';
import type { ChartSpec } from '../../src/report/charts.ts';
import { INFEASIBLE_NOTE, latencyTable, methodColor, percent, SCHEMA, type ExperimentOutput } from './report.ts';
import { geneflowGain, METHOD_NAMES, type CaseResult, type ExperimentRunner } from './runner.ts';

/** The gain statistics of experiment (a) for one cluster (docs/experiments.md). */
export function gainSummary(results: readonly CaseResult[]): {
  models: number;
  compared: number;
  meanGain: number | undefined;
  neverWorse: number;
} {
  const gains = results.map(geneflowGain).filter((g): g is number => g !== undefined);
  return {
    models: results.length,
    compared: gains.length,
    meanGain: gains.length === 0 ? undefined : gains.reduce((s, g) => s + g, 0) / gains.length,
    neverWorse: gains.filter((g) => g >= -1e-9).length,
  };
}

/** (a) Every method on every model with four devices, per cluster; latency and its ratio to the lower bound. */
export async function fourDevicesExperiment(
  runner: ExperimentRunner,
  models: readonly string[],
  clusters: readonly Cluster[],
): Promise<ExperimentOutput> {
  const sections: string[] = [];
  const byCluster: Record<string, { results: CaseResult[]; summary: ReturnType<typeof gainSummary> }> = {};
  for (const cluster of clusters) {
    const results: CaseResult[] = [];
    for (const model of models) results.push(await runner.run(model, cluster));
    const summary = gainSummary(results);
    byCluster[cluster.name] = { results, summary };
    const table = latencyTable(results, {
      headers: ['model'],
      cells: (r) => [r.model],
    });
    const gains = results.map((r) => {
      const g = geneflowGain(r);
      return `${r.model}: ${g === undefined ? 'n/a' : percent(g)}`;
    });
    sections.push(
      `${cluster.name} (${cluster.devices.map((d) => d.name).join(', ')}): ${INFEASIBLE_NOTE}\n${table}\n` +
        `GenEFlow's gain over the best feasible baseline (1 − geneflow / best baseline): ${gains.join(', ')}\n` +
        `mean ${summary.meanGain === undefined ? 'n/a' : percent(summary.meanGain)} over ${summary.compared} models; ` +
        `GenEFlow at least as fast as the best baseline on ${summary.neverWorse} of ${summary.compared}`,
    );
  }
  const values = Object.values(byCluster).flatMap(({ results }) =>
    results.flatMap((r) =>
      r.methods.map((m) => ({
        cluster: r.cluster,
        model: r.model,
        method: m.name,
        ratioToBound: m.ratioToBound,
        feasible: m.feasible ? 'yes' : 'no',
      })),
    ),
  );
  const chart = {
    $schema: SCHEMA,
    title: 'Four devices: latency / lower bound per method (faded: over a memory limit)',
    data: { values },
    facet: { row: { field: 'cluster', type: 'nominal', title: null } },
    spec: {
      width: { step: 9 },
      height: 220,
      mark: 'bar',
      encoding: {
        x: { field: 'model', type: 'nominal', title: null, sort: models },
        xOffset: { field: 'method', type: 'nominal', sort: [...METHOD_NAMES] },
        y: { field: 'ratioToBound', type: 'quantitative', scale: { type: 'log' }, title: 'latency / lower bound' },
        // Bars rise from ratio 1 (a log scale has no zero).
        y2: { datum: 1 },
        color: methodColor(false),
        opacity: { condition: { test: "datum.feasible === 'no'", value: 0.3 }, value: 1 },
      },
    },
  } as ChartSpec;
  return {
    id: 'a-four-devices',
    title: '(a) Latency of every method with four devices',
    text: sections.join('\n\n'),
    data: { clusters: byCluster },
    chart,
  };
}
