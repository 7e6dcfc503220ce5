import type { Cluster } from '../../src/cluster/types.ts';
import type { ChartSpec } from '../../src/report/charts.ts';
import { heterogeneousCluster, homogeneousCluster, withBandwidth } from './clusters.ts';
import { INFEASIBLE_NOTE, latencySeries, LOWER_BOUND, methodColor, latencyTable, SCHEMA, type ExperimentOutput } from './report.ts';
import type { CaseResult, ExperimentRunner } from './runner.ts';

/** A line chart of latency over one parameter per method (the lower bound dashed), a panel per model and column. */
function sweepChart(
  title: string,
  values: object[],
  x: { field: string; title: string; log: boolean },
  models: readonly string[],
  column?: string,
): ChartSpec {
  return {
    $schema: SCHEMA,
    title,
    data: { values },
    facet: {
      row: { field: 'model', type: 'nominal', title: null, sort: [...models] },
      ...(column === undefined ? {} : { column: { field: column, type: 'nominal', title: null } }),
    },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 300,
      height: 200,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: x.field, type: 'quantitative', title: x.title, ...(x.log ? { scale: { type: 'log' } } : {}) },
        y: { field: 'latencyMs', type: 'quantitative', scale: { type: 'log' }, title: 'simulated latency (ms)' },
        color: methodColor(true),
        strokeDash: { condition: { test: `datum.method === '${LOWER_BOUND}'`, value: [4, 3] }, value: [1, 0] },
      },
    },
  } as ChartSpec;
}

/** (c) 1 to n devices, Pi-class homogeneous clusters against the heterogeneous mix (clusters.ts). */
export async function deviceCountExperiment(
  runner: ExperimentRunner,
  models: readonly string[],
  counts: readonly number[],
): Promise<ExperimentOutput> {
  const clusters: Array<{ family: string; cluster: Cluster }> = [];
  for (const n of counts) clusters.push({ family: 'homogeneous', cluster: homogeneousCluster(n) });
  // One device of the mix is the same Pi as homo1.
  for (const n of counts) if (n > 1) clusters.push({ family: 'heterogeneous', cluster: heterogeneousCluster(n) });
  const results: Array<CaseResult & { family: string }> = [];
  const sections: string[] = [];
  for (const model of models) {
    const rows: Array<CaseResult & { family: string }> = [];
    for (const { family, cluster } of clusters) rows.push({ ...(await runner.run(model, cluster)), family });
    results.push(...rows);
    sections.push(
      `${model}: ${INFEASIBLE_NOTE}\n${latencyTable(rows, { headers: ['cluster', 'devices'], cells: (r) => [r.cluster, r.devices] })}`,
    );
  }
  const values = results.flatMap((r) => latencySeries([r], () => ({ model: r.model, family: r.family, devices: r.devices })));
  return {
    id: 'c-device-count',
    title: '(c) One to eight devices, homogeneous and heterogeneous',
    text: `Clusters: homoN = N Pi-class devices; hetero-mixN = the first N of pi, jetson, pi, laptop, pi, jetson, pi, laptop.\n\n${sections.join('\n\n')}`,
    data: { results },
    chart: sweepChart(
      'Latency over the number of devices (dashed: lower bound)',
      values,
      { field: 'devices', title: 'devices', log: false },
      models,
      'family',
    ),
  };
}

/** (d) Every link and the router's forwarding at the same rate, swept on a log scale. */
export async function bandwidthExperiment(
  runner: ExperimentRunner,
  models: readonly string[],
  cluster: Cluster,
  bandwidthsMbps: readonly number[],
): Promise<ExperimentOutput> {
  const results: Array<CaseResult & { mbps: number }> = [];
  const sections: string[] = [];
  for (const model of models) {
    const rows: Array<CaseResult & { mbps: number }> = [];
    for (const mbps of bandwidthsMbps) rows.push({ ...(await runner.run(model, withBandwidth(cluster, mbps))), mbps });
    results.push(...rows);
    sections.push(
      `${model} on ${cluster.name}: ${INFEASIBLE_NOTE}\n${latencyTable(rows, { headers: ['Mbit/s'], cells: (r) => [r.mbps] })}`,
    );
  }
  const values = results.flatMap((r) => latencySeries([r], () => ({ model: r.model, mbps: r.mbps })));
  return {
    id: 'd-bandwidth',
    title: '(d) Link bandwidth from 1 to 1000 Mbit/s',
    text: `Every device link (up and down) and the router's forwarding rate set to the same value; per-message latencies as in ${cluster.name}.\n\n${sections.join('\n\n')}`,
    data: { cluster: cluster.name, results },
    chart: sweepChart(
      `Latency over link bandwidth, ${cluster.name} (dashed: lower bound)`,
      values,
      { field: 'mbps', title: 'link bandwidth (Mbit/s)', log: true },
      models,
    ),
  };
}
