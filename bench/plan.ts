/**
 * Planning benchmark (npm run bench:plan [-- --clusters homo4,hetero4 --models a,b --seeds 1,2,3 --time-limit S
 * --out DIR]): every zoo model on each cluster, the whole plan job (BTSearch, every baseline, GenEFlow with the
 * random-search ablation interleaved) once per seed within `--time-limit` seconds. Prints a Markdown table per
 * cluster (definitions in docs/baselines.md, "Benchmark numbers") and writes the rows as JSON.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BASELINES } from '../src/baselines/index.ts';
import { loadCluster } from '../src/cluster/load.ts';
import { loadModel } from '../src/model/load.ts';
import { geneflowGain, type MethodResult } from '../src/pipeline/methods.ts';
import { runPlanJob, type PlanJob } from '../src/pipeline/plan-job.ts';
import { busiestChannelMs, idealSplitMs } from '../src/simulate/ideal.ts';
import { ZOO } from '../src/zoo/index.ts';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const clusters = flag('clusters', 'homo4,hetero4,hetero4-gbe').split(',');
const models = flag('models', ZOO.map((e) => e.name).join(',')).split(',');
const seeds = flag('seeds', '1,2,3').split(',').map(Number);
const timeLimitS = Number(flag('time-limit', '20'));
const outDir = flag('out', 'results/bench-plan');
if (!(timeLimitS > 0)) throw new Error(`--time-limit: seconds > 0, got '${flag('time-limit', '')}'`);
if (seeds.some((s) => !Number.isInteger(s) || s < 1)) throw new Error(`--seeds: positive integers, got '${flag('seeds', '')}'`);
const OTHERS = [...BASELINES.map((b) => b.name), 'random'];

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : 'n/a');

const rows: Array<Record<string, unknown>> = [];
for (const clusterName of clusters) {
  const cluster = loadCluster(clusterName);
  const header = [
    'model',
    ...OTHERS,
    'geneflow (median)',
    'best seed',
    'median/best',
    'best other',
    'gain',
    'GA ≤ all',
    'speed-up vs 1 device',
    'ideal speed-up',
    'channel busy',
    '× bound',
    'plans/s',
  ];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  const summary = { gains: [] as number[], speedups: [] as number[], cnnSpeedups: [] as number[], allBelow: true };
  for (const name of models) {
    const model = loadModel(name);
    const runs: Array<{
      seed: number;
      job: PlanJob;
      by: Map<string, MethodResult>;
      ga: MethodResult;
      wallMs: number;
      belowAll: boolean;
      versus: ReturnType<typeof geneflowGain>;
    }> = [];
    for (const seed of seeds) {
      const started = performance.now();
      const job = await runPlanJob(model, cluster, { timeLimitMs: timeLimitS * 1000, geneflow: { seed } });
      const wallMs = performance.now() - started;
      const by = new Map(job.result.methods.map((m) => [m.name, m]));
      const ga = by.get('geneflow')!;
      const others = job.result.methods.filter((m) => m.name !== 'geneflow' && m.feasible);
      const belowAll = ga.feasible ? others.every((m) => ga.latencyMs <= m.latencyMs + 1e-9) : others.length === 0;
      runs.push({ seed, job, by, ga, wallMs, belowAll, versus: geneflowGain(job.result.methods) });
      console.error(
        `${clusterName} ${name} seed ${seed}: geneflow ${ga.latencyMs.toFixed(1)} ms, ${ga.evaluations} plans, ${job.result.geneflow.restarts} restarts, ` +
          `random ${by.get('random')?.latencyMs.toFixed(1)} ms (${by.get('random')?.evaluations} plans), job ${(wallMs / 1000).toFixed(1)} s`,
      );
    }
    const gaMs = runs.map((r) => r.ga.latencyMs);
    const gaMedian = median(gaMs);
    const gaBest = Math.min(...gaMs);
    const gains = runs.flatMap((r) => (r.versus === undefined ? [] : [r.versus.gain]));
    const gain = gains.length === 0 ? Number.NaN : mean(gains);
    const single = runs[0]!.by.get('single');
    const speedup = single !== undefined && single.feasible ? single.latencyMs / gaMedian : Number.NaN;
    const bound = runs[0]!.job.result.lowerBoundMs;
    const { whole } = runs[0]!.job.result;
    const idealSpeedup = single !== undefined && single.feasible ? single.latencyMs / idealSplitMs(whole, cluster.medium) : Number.NaN;
    const medianRun = [...runs].sort((a, b) => a.ga.latencyMs - b.ga.latencyMs)[(runs.length - 1) >> 1]!;
    const channelBusy = busiestChannelMs(medianRun.ga.simulation, cluster.medium) / medianRun.ga.latencyMs;
    const allFeasible = runs.every((r) => r.ga.feasible);
    const belowAll = runs.every((r) => r.belowAll);
    const plansPerS = mean(runs.map((r) => r.ga.evaluations / (r.ga.searchMs / 1000)));
    if (Number.isFinite(gain)) summary.gains.push(gain);
    if (Number.isFinite(speedup)) {
      summary.speedups.push(speedup);
      if (ZOO.find((e) => e.name === name)?.family === 'cnn') summary.cnnSpeedups.push(speedup);
    }
    summary.allBelow &&= belowAll;
    const cell = (method: string) => {
      const ms = runs.map((r) => r.by.get(method)).filter((m) => m !== undefined);
      if (ms.length === 0) return '–';
      return `${median(ms.map((m) => m.latencyMs)).toFixed(1)}${ms.every((m) => m.feasible) ? '' : '*'}`;
    };
    const bestOther = runs.map((r) => r.versus?.baseline ?? '–');
    lines.push(
      `| ${[
        name,
        ...OTHERS.map(cell),
        `${gaMedian.toFixed(1)}${allFeasible ? '' : '*'}`,
        gaBest.toFixed(1),
        pct(gaMedian / gaBest - 1),
        [...new Set(bestOther)].join(', '),
        pct(gain),
        belowAll ? 'yes' : 'NO',
        Number.isFinite(speedup) ? `${speedup.toFixed(2)}×` : 'n/a',
        Number.isFinite(idealSpeedup) ? `${idealSpeedup.toFixed(2)}×` : 'n/a',
        pct(channelBusy),
        (gaMedian / bound).toFixed(2),
        plansPerS.toFixed(0),
      ].join(' | ')} |`,
    );
    rows.push({
      cluster: clusterName,
      model: name,
      lowerBoundMs: bound,
      geneflowMedianMs: gaMedian,
      geneflowBestMs: gaBest,
      gain,
      speedup,
      idealSpeedup,
      channelBusy,
      belowAll,
      runs: runs.map((r) => ({
        seed: r.seed,
        wallMs: r.wallMs,
        best: r.job.result.best,
        versus: r.versus ?? null,
        geneflow: r.job.result.geneflow,
        methods: r.job.result.methods.map((m) => ({
          name: m.name,
          latencyMs: m.latencyMs,
          feasible: m.feasible,
          searchMs: m.searchMs,
          evaluations: m.evaluations,
        })),
      })),
    });
  }
  console.log(
    [
      `\n### ${cluster.name} (latency in ms, median over seeds ${seeds.join(', ')}; * = over a memory limit; whole job ${timeLimitS} s per seed)\n`,
      lines.join('\n'),
      '',
      `Mean gain of GenEFlow over the best other method: ${pct(mean(summary.gains))}; GenEFlow ≤ every other method on every row and seed: ${summary.allBelow ? 'yes' : 'NO'}`,
      `Mean speed-up over the best single device: ${mean(summary.speedups).toFixed(2)}× (CNNs: ${summary.cnnSpeedups.length === 0 ? 'n/a' : `${mean(summary.cnnSpeedups).toFixed(2)}×`})`,
    ].join('\n'),
  );
}
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'plan-bench.json'), `${JSON.stringify(rows, null, 2)}\n`);
