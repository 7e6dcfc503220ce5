/**
 * Runtime benchmark (npm run bench:runtime [-- --models resnet50,bert-base --seq-len 128 --runs 3 --rounds 3
 * --time-limit 20000 --cluster emu4 --methods a,b --out DIR]): each model is profiled on this machine (operator
 * times and the step/split overheads), every
 * method plans it for the cluster as emulated here (its devices' speeds stretched from the host profile, docs/runtime.md),
 * and every plan then runs on 4 local worker processes with emulated links (the cluster's links, docs/cluster.md) and
 * emulated device speeds. Prints measured vs predicted latency per method (calibrated by the profile, and from the
 * cluster file alone) and writes the rows as JSON plus a chart.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runAllMethods } from '../src/pipeline/methods.ts';
import { loadCluster } from '../src/cluster/load.ts';
import { loadModel } from '../src/model/load.ts';
import { planOrder } from '../src/ordering/plan.ts';
import { renderChart } from '../src/report/charts.ts';
import { calibratedCluster, profileGflops } from '../src/runtime/emulate.ts';
import { profileModel } from '../src/runtime/profile.ts';
import { median } from '../src/runtime/reference.ts';
import { runPlan, type RunReport } from '../src/runtime/run.ts';
import { simulate } from '../src/simulate/simulate.ts';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const models = flag('models', 'resnet50,bert-base').split(',');
const seqLen = Number(flag('seq-len', '128'));
const runs = Number(flag('runs', '3'));
const rounds = Number(flag('rounds', '3'));
const timeLimitMs = Number(flag('time-limit', '20000'));
const clusterName = flag('cluster', 'emu4');
const methodsWanted = flag('methods', 'single,layerwise,proportional,lp,deepthings,heft,geneflow').split(',');
const outDir = flag('out', 'results/bench-runtime');
const log = (text: string) => process.stderr.write(`${text}\n`);

interface Row {
  model: string;
  method: string;
  predictedMs: number;
  uncalibratedMs: number;
  measuredMs: number;
  errorPercent: number;
  uncalibratedErrorPercent: number;
  maxAbsError: number;
  feasible: boolean;
  runsMs: number[];
  /** Each round's median. */
  roundMedianMs: number[];
  hostGflops: number;
  /** Per round, per worker: measured compute/send beside the prediction's, to locate a mis-prediction (docs/runtime.md). */
  workers: unknown;
}

const rows: Row[] = [];
const hosts: Array<{ model: string; gflops: number; profileMs: number; overheads: unknown }> = [];
const base = loadCluster(clusterName);
for (const name of models) {
  const model = loadModel(name, name.startsWith('bert') || name.startsWith('gpt') || name.startsWith('qwen') ? { seqLen } : {});
  let started = performance.now();
  const { profile, calibration } = await profileModel(model, { runs: 5 });
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, `${name}-profile.json`), `${JSON.stringify(profile, null, 2)}\n`);
  const hostGflops = profileGflops(model, profile);
  hosts.push({ model: name, gflops: hostGflops, profileMs: performance.now() - started, overheads: profile.overheads });
  log(
    `${name}: profiled in ${((performance.now() - started) / 1000).toFixed(1)} s, host ${hostGflops.toFixed(2)} GFLOP/s, overheads ${JSON.stringify(profile.overheads)} (fit rms ${calibration?.rmsMs.toFixed(2)} ms over ${calibration?.samples.length} steps)`,
  );
  // exactly what `plan --host-profile` plans with, and what runPlan predicts with
  const cluster = calibratedCluster(model, base, profile);
  started = performance.now();
  const order = planOrder(model, { timeLimitMs: 10_000 }).orderNames;
  const planned = await runAllMethods(model, cluster, order, {
    timeLimitMs,
    geneflow: { seed: 1, patience: 100 },
    random: false,
    methods: methodsWanted,
  });
  log(`${name}: planned in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  for (const method of planned.methods) writeFileSync(join(outDir, `${name}-${method.name}.plan.json`), `${JSON.stringify(method.plan)}\n`);
  // Rounds run every plan once in turn, so a slow spell of this shared machine lands on all plans alike rather than
  // on one plan's runs; each plan's measurement is the median over all its rounds' runs.
  const own = planned.methods.map((method) => ({ method, reports: [] as RunReport[] }));
  for (let round = 1; round <= rounds; round++) {
    for (const entry of own) {
      const report = await runPlan(model, entry.method.plan, {
        local: cluster.devices.length,
        runs,
        warmup: 1,
        emulateLinks: true,
        emulateDevices: true,
        hostProfile: profile,
        timeoutMs: 120_000,
      });
      entry.reports.push(report);
      log(
        `${name} ${entry.method.name} round ${round}/${rounds}: measured ${report.measuredMs.toFixed(1)} ms, predicted ${report.predictedMs.toFixed(1)} ms`,
      );
    }
  }
  for (const { method, reports } of own) {
    const runsMs = reports.flatMap((r) => r.runsMs);
    const measuredMs = median(runsMs);
    const predictedMs = reports[0]!.predictedMs;
    const uncalibratedMs = simulate(model, base, method.plan).latencyMs;
    const row: Row = {
      model: name,
      method: method.name,
      predictedMs,
      uncalibratedMs,
      measuredMs,
      errorPercent: ((measuredMs - predictedMs) / predictedMs) * 100,
      uncalibratedErrorPercent: ((measuredMs - uncalibratedMs) / uncalibratedMs) * 100,
      maxAbsError: Math.max(...reports.map((r) => r.maxAbsError)),
      feasible: method.feasible,
      runsMs,
      roundMedianMs: reports.map((r) => r.measuredMs),
      hostGflops: median(reports.map((r) => r.hostGflops)),
      workers: reports.map((r) => r.workers),
    };
    rows.push(row);
    log(
      `${name} ${method.name}: host ${row.hostGflops.toFixed(1)} GFLOP/s, measured ${row.measuredMs.toFixed(1)} ms (rounds ${row.roundMedianMs.map((v) => v.toFixed(0)).join(', ')}), predicted ${row.predictedMs.toFixed(1)} ms (${row.errorPercent.toFixed(1)}%), max abs error ${row.maxAbsError.toExponential(1)}`,
    );
  }
}

const pct = (v: number) => `${v >= 0 ? '+' : ''}${v.toFixed(1)}%`;
const lines = [
  `| model | method | predicted ms (profiled) | measured ms | rounds' medians ms | error | predicted ms (cluster file only) | error | max abs error |`,
  '|---|---|---|---|---|---|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.model} | ${r.method}${r.feasible ? '' : '*'} | ${r.predictedMs.toFixed(1)} | ${r.measuredMs.toFixed(1)} | ${r.roundMedianMs.map((v) => v.toFixed(0)).join(' / ')} | ${pct(r.errorPercent)} | ${r.uncalibratedMs.toFixed(1)} | ${pct(r.uncalibratedErrorPercent)} | ${r.maxAbsError.toExponential(1)} |`,
  ),
];
const summary: string[] = [];
for (const name of models) {
  const own = rows.filter((r) => r.model === name);
  const ga = own.find((r) => r.method === 'geneflow');
  const baselines = own.filter((r) => r.method !== 'geneflow');
  const worst = Math.max(...own.map((r) => Math.abs(r.errorPercent)));
  const bestBaseline = baselines.reduce<Row | undefined>((a, b) => (a === undefined || b.measuredMs < a.measuredMs ? b : a), undefined);
  summary.push(
    `${name}: largest |error| after profiling ${worst.toFixed(1)}% (goal < 15%: ${worst < 15 ? 'met' : 'not met'}); ` +
      (ga === undefined || bestBaseline === undefined
        ? 'GenEFlow or baselines not run'
        : `GenEFlow measured ${ga.measuredMs.toFixed(1)} ms vs best baseline ${bestBaseline.method} ${bestBaseline.measuredMs.toFixed(1)} ms (goal: GenEFlow fastest: ${ga.measuredMs < bestBaseline.measuredMs ? 'met' : 'not met'})`),
  );
}
const hostLine = hosts.map((h) => `${h.model} ${h.gflops.toFixed(2)} GFLOP/s`).join(', ');
console.log(
  `\n### ${clusterName} emulated on this host (${hostLine}); ${rounds} rounds of ${runs} measured runs after 1 warm-up, median of all; * = plan over a memory limit\n\n${lines.join('\n')}\n\n${summary.join('\n')}`,
);
mkdirSync(outDir, { recursive: true });
writeFileSync(
  join(outDir, 'runtime-bench.json'),
  `${JSON.stringify({ cluster: clusterName, seqLen, runs, rounds, hosts, rows }, null, 2)}\n`,
);
const { svg, png } = await renderChart({
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  title: `Measured vs predicted latency on ${clusterName} (emulated on one host)`,
  data: {
    values: rows.flatMap((r) => [
      { model: r.model, method: r.method, source: 'measured', ms: r.measuredMs },
      { model: r.model, method: r.method, source: 'predicted (profiled)', ms: r.predictedMs },
    ]),
  },
  facet: { field: 'model', type: 'nominal', title: null },
  spec: {
    mark: 'bar',
    width: { step: 16 },
    height: 220,
    encoding: {
      x: { field: 'method', type: 'nominal', title: null, sort: null },
      xOffset: { field: 'source' },
      y: { field: 'ms', type: 'quantitative', title: 'ms' },
      color: { field: 'source', type: 'nominal', title: null },
    },
  },
  resolve: { scale: { y: 'independent' } },
} as never);
writeFileSync(join(outDir, 'runtime-bench.svg'), svg);
writeFileSync(join(outDir, 'runtime-bench.png'), png);
