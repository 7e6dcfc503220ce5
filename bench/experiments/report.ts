import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatTable } from '../../src/cli/options.ts';
import { BYTES_PER_MB } from '../../src/cluster/types.ts';
import { renderChart, type ChartSpec } from '../../src/report/charts.ts';
import { METHOD_NAMES, type CaseResult, type MethodRow } from './runner.ts';

export const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

export const LOWER_BOUND = 'lower bound';

const METHOD_RANGE = ['#4c78a8', '#72b7b2', '#eeca3b', '#54a24b', '#9d755d', '#b279a2', '#e45756', '#bab0ac'];

/** One colour per method in every chart (GenEFlow red, random search grey; the lower bound, when drawn, black). */
export function methodColor(withLowerBound: boolean) {
  const domain = withLowerBound ? [...METHOD_NAMES, LOWER_BOUND] : [...METHOD_NAMES];
  return {
    field: 'method',
    type: 'nominal',
    sort: domain,
    scale: { domain, range: [...METHOD_RANGE, '#000000'].slice(0, domain.length) },
  } as const;
}

/** One experiment's results: text tables (printed and written as .md), its data (.json) and a chart (.svg, .png). */
export interface ExperimentOutput {
  /** File stem, e.g. `a-four-devices`. */
  id: string;
  title: string;
  /** Plain-text tables with their captions. */
  text: string;
  data: unknown;
  chart: ChartSpec;
}

export async function writeExperiment(dir: string, output: ExperimentOutput): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const base = join(dir, output.id);
  const { svg, png } = await renderChart(output.chart);
  const paths = [`${base}.md`, `${base}.json`, `${base}.svg`, `${base}.png`];
  writeFileSync(paths[0]!, `# ${output.title}\n\n\`\`\`text\n${output.text}\n\`\`\`\n`);
  writeFileSync(paths[1]!, `${JSON.stringify({ experiment: output.id, title: output.title, ...(output.data as object) }, null, 2)}\n`);
  writeFileSync(paths[2]!, svg);
  writeFileSync(paths[3]!, png);
  return paths;
}

export const mib = (bytes: number): string => (bytes / BYTES_PER_MB).toFixed(1);
export const percent = (fraction: number): string => `${fraction > 0 ? '+' : ''}${(fraction * 100).toFixed(1)}%`;

/** `latency (ratio to bound×)`, with `*` when the plan is over a device's memory limit. */
export function latencyCell(m: MethodRow): string {
  return `${m.latencyMs.toFixed(1)} (${m.ratioToBound.toFixed(2)}×)${m.feasible ? '' : '*'}`;
}

export const INFEASIBLE_NOTE = 'ms (ratio to the lower bound); * = over a device memory limit';

/** Method names in the order the first result lists them. */
export function methodNames(results: readonly CaseResult[]): string[] {
  return results[0]?.methods.map((m) => m.name) ?? [];
}

/** A table with the given leading cells per result, then bound, every method's latency cell, and the best method. */
export function latencyTable<R extends CaseResult>(
  results: readonly R[],
  leading: { headers: string[]; cells: (r: R) => (string | number)[] },
): string {
  const names = methodNames(results);
  const rows = results.map((r) => [
    ...leading.cells(r),
    r.lowerBoundMs.toFixed(1),
    ...names.map((name) => {
      const m = r.methods.find((x) => x.name === name);
      return m === undefined ? '—' : latencyCell(m);
    }),
    r.best,
  ]);
  return formatTable([...leading.headers, 'bound ms', ...names, 'best'], rows);
}

/** One chart row per (result, method) plus the lower bound as a pseudo-method, for line charts over a parameter. */
export function latencySeries(results: readonly CaseResult[], key: (r: CaseResult) => Record<string, string | number>) {
  return results.flatMap((r) => [
    ...r.methods.map((m) => ({
      ...key(r),
      method: m.name,
      latencyMs: m.latencyMs,
      ratioToBound: m.ratioToBound,
      feasible: m.feasible ? 'yes' : 'no',
    })),
    { ...key(r), method: LOWER_BOUND, latencyMs: r.lowerBoundMs, ratioToBound: 1, feasible: 'yes' },
  ]);
}
