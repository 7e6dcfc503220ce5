import { writeFileSync } from 'node:fs';
import type { PlanJob } from '../pipeline/plan-job.ts';
import { deviceMemoryBytes } from '../cluster/types.ts';
import { memoryOverStepsChart } from '../ordering/chart.ts';
import { ganttChartSpec } from '../simulate/gantt.ts';
import { chartToSvg } from './charts.ts';
import { renderHtmlReport, type ReportSection } from './html.ts';
import { convergenceChart, deviceMemoryChart, latencyByMethodChart } from './plan-charts.ts';

const mb = (bytes: number) => (bytes / 1e6).toFixed(2);

/** The `plan` command's HTML report: order memory, method comparison, GA convergence, Gantt, device memory. */
export async function renderPlanReport(job: PlanJob): Promise<string> {
  const { model, cluster, order, result } = job;
  const best = result.methods.find((m) => m.name === result.best)!;
  const geneflow = result.methods.find((m) => m.name === 'geneflow');
  const sections: ReportSection[] = [];
  sections.push({
    title: 'Cluster',
    table: {
      headers: ['device', 'GFLOP/s', 'memory MB', 'up Mbit/s', 'down Mbit/s', 'latency ms'],
      rows: cluster.devices.map((d) => [d.name, d.gflops, mb(deviceMemoryBytes(d)), d.uplinkMbps, d.downlinkMbps, d.latencyMs]),
    },
    text: `Router '${cluster.router.name}': ${cluster.router.broadcast ? 'broadcast capable' : 'point-to-point only'}, ${cluster.router.latencyMs} ms per forwarded message.`,
  });
  sections.push({
    title: 'Operator order (BTSearch)',
    text:
      `Peak live activation memory ${mb(order.peakBytes)} MB, ${order.optimal ? 'proven optimal' : `not proven (lower bound ${mb(order.lowerBoundBytes)} MB)`}, ` +
      `found in ${(order.timeMs / 1000).toFixed(2)} s over ${order.statesVisited} states. Baselines: ` +
      order.baselines.map((b) => `${b.method} ${mb(b.peakBytes)} MB`).join(', ') +
      '.',
    svg: await chartToSvg(memoryOverStepsChart(order)),
  });
  const rows = result.methods.map((m) => [
    m.name,
    m.latencyMs.toFixed(2),
    (m.latencyMs / result.lowerBoundMs).toFixed(2),
    m.feasible ? 'yes' : 'no',
    mb(Math.max(...m.devicePeakBytes)),
    (m.searchMs / 1000).toFixed(2),
    m.evaluations,
  ]);
  sections.push({
    title: 'Methods compared (simulated)',
    text: `Lower bound ${result.lowerBoundMs.toFixed(2)} ms (docs/latency.md). Best: ${result.best}.`,
    table: {
      headers: ['method', 'latency ms', '× bound', 'feasible', 'max device peak MB', 'search s', 'plans simulated'],
      rows,
      highlightRow: result.methods.indexOf(best),
    },
    svg: await chartToSvg(latencyByMethodChart(result.methods, result.lowerBoundMs, 'Simulated latency per method (dashed: lower bound)')),
  });
  if (geneflow !== undefined && result.history.length > 0) {
    sections.push({
      title: 'GenEFlow convergence',
      text: `${result.geneflow.generations} generations, ${result.geneflow.evaluations} plans simulated, stopped by ${result.geneflow.stopReason}.`,
      svg: await chartToSvg(convergenceChart(result.history, 'Fitness per generation')),
    });
  }
  if (best.simulation.timeline !== undefined) {
    sections.push({
      title: `Per-device timeline of the best plan (${best.name})`,
      svg: await chartToSvg(ganttChartSpec(best.simulation, best.name)),
    });
  }
  sections.push({
    title: `Per-device memory of the best plan (${best.name})`,
    svg: await chartToSvg(deviceMemoryChart(best, cluster, 'Peak memory (weights of its slices + live activations) vs limit')),
  });
  return renderHtmlReport(
    `MemoriaNova plan: ${model.name} on ${cluster.name}`,
    `${model.ops.length} operators, ${cluster.devices.length} devices`,
    sections,
  );
}

export async function writePlanReport(path: string, job: PlanJob): Promise<void> {
  writeFileSync(path, await renderPlanReport(job));
}
