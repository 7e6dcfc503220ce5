/**
 * Planning benchmark (npm run bench:plan [-- --clusters hetero4,homo4 --models a,b --time-limit ms --out DIR]):
 * every zoo model on each cluster, BTSearch's order, then every method. Prints a Markdown table per cluster
 * (latency of each method, GenEFlow's gain over the best baseline, ratio to the lower bound, planning time: BTSearch +
 * every baseline + GenEFlow, the random-search ablation left out) and
 * writes the rows as JSON.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BASELINES } from '../src/baselines/index.ts';
import { geneflowGain, runAllMethods } from '../src/pipeline/methods.ts';
import { loadCluster } from '../src/cluster/load.ts';
import { loadModel } from '../src/model/load.ts';
import { planOrder } from '../src/ordering/plan.ts';
import { ZOO } from '../src/zoo/index.ts';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const clusters = flag('clusters', 'hetero4,homo4').split(',');
const models = flag('models', ZOO.map((e) => e.name).join(',')).split(',');
const timeLimitMs = Number(flag('time-limit', '20000'));
const outDir = flag('out', 'results/bench-plan');
const BASELINE_NAMES = BASELINES.map((b) => b.name);

const rows: Array<Record<string, unknown>> = [];
for (const clusterName of clusters) {
  const cluster = loadCluster(clusterName);
  const lines: string[] = [];
  const header = ['model', ...BASELINE_NAMES, 'random', 'geneflow', 'best baseline', 'gain', 'GA/LB', 'GA ms', 'plan ms'];
  lines.push(`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`);
  const gains: number[] = [];
  for (const name of models) {
    const model = loadModel(name);
    const started = performance.now();
    const order = planOrder(model, { timeLimitMs: 10_000 });
    const result = await runAllMethods(model, cluster, order.orderNames, { geneflow: { seed: 1, timeLimitMs } });
    const allMs = performance.now() - started;
    const planMs = allMs - (result.methods.find((m) => m.name === 'random')?.searchMs ?? 0);
    const by = new Map(result.methods.map((m) => [m.name, m]));
    const cell = (m: { latencyMs: number; feasible: boolean } | undefined) =>
      m === undefined ? '–' : `${m.latencyMs.toFixed(1)}${m.feasible ? '' : '*'}`;
    const ga = by.get('geneflow')!;
    const versus = geneflowGain(result.methods);
    const bestBaseline = versus === undefined ? undefined : by.get(versus.baseline);
    const gain = versus?.gain ?? Number.NaN;
    if (versus !== undefined) gains.push(gain);
    lines.push(
      `| ${[name, ...BASELINE_NAMES.map((n) => cell(by.get(n))), cell(by.get('random')), cell(ga), bestBaseline?.name ?? '–', versus === undefined ? 'n/a' : `${(gain * 100).toFixed(1)}%`, (ga.latencyMs / result.lowerBoundMs).toFixed(2), ga.searchMs.toFixed(0), planMs.toFixed(0)].join(' | ')} |`,
    );
    rows.push({
      cluster: clusterName,
      model: name,
      lowerBoundMs: result.lowerBoundMs,
      best: result.best,
      gain,
      allMs,
      planMs,
      geneflow: result.geneflow,
      methods: result.methods.map((m) => ({
        name: m.name,
        latencyMs: m.latencyMs,
        feasible: m.feasible,
        searchMs: m.searchMs,
        evaluations: m.evaluations,
      })),
    });
    console.error(
      `${clusterName} ${name}: geneflow ${ga.latencyMs.toFixed(1)} ms, best baseline ${bestBaseline?.name} ${bestBaseline?.latencyMs.toFixed(1)} ms, planning ${(planMs / 1000).toFixed(1)} s`,
    );
  }
  const mean = gains.reduce((s, g) => s + g, 0) / gains.length;
  console.log(
    `\n### ${clusterName} (latency in ms; * = over a memory limit; GenEFlow time limit ${timeLimitMs} ms)\n\n${lines.join('\n')}\n\nMean gain of GenEFlow over the best baseline: ${(mean * 100).toFixed(1)}%`,
  );
}
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'plan-bench.json'), `${JSON.stringify(rows, null, 2)}\n`);
