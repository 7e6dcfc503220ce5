import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { checkMethods, deviceMemoryNeeds, geneflowGain, METHOD_NAMES } from '../../pipeline/methods.ts';
import { loadCluster } from '../../cluster/load.ts';
import { BYTES_PER_MB } from '../../cluster/types.ts';
import { DEFAULT_TIME_LIMIT_MS, type GeneflowProgress } from '../../geneflow/geneflow.ts';
import { DEFAULT_ORDER_TIME_LIMIT_MS } from '../../ordering/plan.ts';
import { runPlanJob, type PlanJob } from '../../pipeline/plan-job.ts';
import { formatPlan } from '../../plan/io.ts';
import { writePlanReport } from '../../report/plan-report.ts';
import { decisionSummary, idealFigures } from '../../report/plan-summary.ts';
import {
  addModelOptions,
  formatTable,
  HOST_PROFILE_HELP,
  loadModelFromFlags,
  makeOutputDir,
  mebibytes,
  positiveInteger,
  positiveNumber,
  type ModelFlags,
  withHostProfile,
  writeOutputFile,
} from '../options.ts';
import { btsearchStatus, Progress } from '../progress.ts';

/** `plan`'s exit status when no method found a plan within every device's memory (plans and report are still written). */
export const EXIT_NO_PLAN_FITS = 2;

const mib = (bytes: number) => (bytes / BYTES_PER_MB).toFixed(1);

/** Share of `--time-limit` kept for writing the plans and the report after the job. */
const REPORT_SHARE = 0.1;

interface PlanFlags extends ModelFlags {
  cluster: string;
  hostProfile?: string;
  out?: string;
  json?: boolean;
  timeLimit: number;
  orderTimeLimit: number;
  seed: number;
  population?: number;
  generations?: number;
  evaluations?: number;
  patience?: number;
  workers?: number;
  methods?: string;
}

/** GenEFlow's status line: generation, best latency, plans simulated and renewals. */
function geneflowStatus(p: GeneflowProgress): string {
  return `${(p.elapsedMs / 1000).toFixed(1)}/${(p.timeLimitMs / 1000).toFixed(1)} s, generation ${p.generation}, best ${p.bestFeasible ? `${p.bestLatencyMs.toFixed(1)} ms` : 'none within memory'}, ${p.evaluations} plans simulated, ${p.restarts} renewals`;
}

const methodLabel = (name: string) => (name === 'geneflow' ? 'GenEFlow' : name === 'random' ? 'random search' : `baseline ${name}`);

function summaryTable(job: PlanJob): string {
  const { result } = job;
  const rows = result.methods.map((m) => [
    m.name,
    m.latencyMs.toFixed(2),
    `${(m.latencyMs / result.lowerBoundMs).toFixed(2)}×`,
    m.feasible ? 'yes' : 'NO',
    mebibytes(Math.max(...m.devicePeakBytes), 1),
    (m.searchMs / 1000).toFixed(2),
  ]);
  return formatTable(['method', 'latency ms', 'vs bound', 'feasible', 'max device peak', 'search s'], rows);
}

export function register(program: Command): void {
  const command = program
    .command('plan')
    .description(
      'the main job: BTSearch order, then GenEFlow and every baseline partition the model over a cluster; writes plan.json and an HTML report',
    )
    .argument('<model>', 'built-in model name (see `memorianova zoo`) or a path to an .onnx file');
  addModelOptions(command)
    .requiredOption('--cluster <preset|file>', 'cluster preset (homo2, homo4, homo6, homo8, hetero4, hetero8) or a YAML/JSON cluster file')
    .option('--out <dir>', 'where plan.json, plans/<method>.json and report.html go (default out/<model>-<cluster>)')
    .option(
      '--time-limit <seconds>',
      'wall-clock budget of the whole job: BTSearch, every baseline, random search and GenEFlow',
      positiveNumber('--time-limit'),
      DEFAULT_TIME_LIMIT_MS / 1000,
    )
    .option(
      '--order-time-limit <seconds>',
      "upper limit on BTSearch's share of the budget (at most a quarter of it)",
      positiveNumber('--order-time-limit'),
      DEFAULT_ORDER_TIME_LIMIT_MS / 1000,
    )
    .option('--seed <n>', 'GenEFlow seed', positiveInteger('--seed'), 1)
    .option('--population <n>', 'GenEFlow population size', positiveInteger('--population'))
    .option(
      '--generations <n>',
      'GenEFlow generation limit (default: none, it runs until the time limit)',
      positiveInteger('--generations'),
    )
    .option('--evaluations <n>', 'limit on the plans GenEFlow simulates (default: none)', positiveInteger('--evaluations'))
    .option(
      '--patience <n>',
      'GenEFlow renews its population after this many generations without improvement (default 30)',
      positiveInteger('--patience'),
    )
    .option('--workers <n>', 'worker threads evaluating GenEFlow fitness (default: none)', positiveInteger('--workers'))
    .option('--methods <list>', `comma-separated subset of methods to run: ${METHOD_NAMES.join(', ')} (default: all)`)
    .option('--host-profile <file>', HOST_PROFILE_HELP)
    .option('--json', 'print one JSON object')
    .action(async (spec: string, flags: PlanFlags) => {
      const started = performance.now();
      const methods = flags.methods
        ?.split(',')
        .map((m) => m.trim())
        .filter((m) => m !== '');
      checkMethods(methods, '--methods');
      const timeLimitMs = flags.timeLimit * 1000;
      const orderTimeLimitMs = flags.orderTimeLimit * 1000;
      const model = loadModelFromFlags(spec, flags);
      const cluster = withHostProfile(model, loadCluster(flags.cluster), flags.hostProfile);
      const outDir = resolve(flags.out ?? join('out', `${model.name.replace(/[^\w.-]+/g, '_')}-${cluster.name}`));
      makeOutputDir(outDir, '--out');
      makeOutputDir(join(outDir, 'plans'), '--out');
      const progress = new Progress();
      progress.note(`${model.name}: ${model.ops.length} operators on ${cluster.name} (${cluster.devices.length} devices)`);
      let orderLimitMs = 0;
      const job = await runPlanJob(model, cluster, {
        timeLimitMs: Math.max(0, timeLimitMs * (1 - REPORT_SHARE) - (performance.now() - started)),
        orderTimeLimitMs,
        onOrderStart: (limitMs) => {
          orderLimitMs = limitMs;
          progress.phase('BTSearch', limitMs, `least-memory order, budget ${(limitMs / 1000).toFixed(1)} s`);
        },
        onOrderProgress: (p) => progress.update(p.elapsedMs, btsearchStatus(p, orderLimitMs)),
        onOrder: (order) =>
          progress.end(
            `peak ${mebibytes(order.peakBytes)} (${order.optimal ? 'proven optimal' : `lower bound ${mebibytes(order.lowerBoundBytes)}`}) in ${(order.timeMs / 1000).toFixed(2)} s`,
          ),
        onMethodStart: (name) =>
          progress.phase(
            methodLabel(name),
            0,
            name === 'geneflow' && (methods?.includes('random') ?? true) ? 'random search interleaved' : '',
          ),
        onMethodEnd: (m) =>
          progress.end(
            `${m.latencyMs.toFixed(2)} ms${m.feasible ? '' : ' (over a memory limit)'}, ${m.evaluations} plan${m.evaluations === 1 ? '' : 's'} simulated in ${(m.searchMs / 1000).toFixed(2)} s`,
            methodLabel(m.name),
          ),
        ...(methods === undefined ? {} : { methods }),
        geneflow: {
          seed: flags.seed,
          ...(flags.population === undefined ? {} : { populationSize: flags.population }),
          ...(flags.generations === undefined ? {} : { maxGenerations: flags.generations }),
          ...(flags.evaluations === undefined ? {} : { maxEvaluations: flags.evaluations }),
          ...(flags.patience === undefined ? {} : { patience: flags.patience }),
          ...(flags.workers === undefined ? {} : { workers: flags.workers }),
          onProgress: (p) => progress.update(p.elapsedMs, geneflowStatus(p), p.timeLimitMs),
        },
      });
      const { order, result } = job;
      const best = result.methods.find((m) => m.name === result.best)!;
      writeOutputFile(join(outDir, 'plan.json'), formatPlan(best.plan));
      for (const m of result.methods) writeOutputFile(join(outDir, 'plans', `${m.name}.json`), formatPlan(m.plan));
      const reportPath = join(outDir, 'report.html');
      await writePlanReport(reportPath, job, {
        commandLine: ['memorianova', ...process.argv.slice(2)].join(' '),
        seed: flags.seed,
        timeLimitS: flags.timeLimit,
      });
      const memory = deviceMemoryNeeds(cluster, best);
      const reportNoFit = () => {
        if (best.feasible) return;
        const over = memory.filter((m) => m.overBytes > 0);
        process.stderr.write(
          `error: no plan fits every device's memory: ${over.map((m) => `${m.device} needs ${mib(m.peakBytes)} MiB of ${mib(m.limitBytes)} MiB`).join(', ')} (best plan: ${best.name}; exit status ${EXIT_NO_PLAN_FITS})\n`,
        );
        process.exitCode = EXIT_NO_PLAN_FITS;
      };
      if (flags.json) {
        const json = {
          model: model.name,
          cluster: cluster.name,
          devices: cluster.devices.map((d) => d.name),
          order: { peakBytes: order.peakBytes, optimal: order.optimal, timeMs: order.timeMs },
          lowerBoundMs: result.lowerBoundMs,
          best: result.best,
          methods: result.methods.map((m) => ({
            name: m.name,
            latencyMs: m.latencyMs,
            feasible: m.feasible,
            devicePeakBytes: m.devicePeakBytes,
            searchMs: m.searchMs,
            evaluations: m.evaluations,
          })),
          geneflow: result.geneflow,
          feasible: best.feasible,
          memory,
          plan: join(outDir, 'plan.json'),
          report: reportPath,
          ...idealFigures(result, cluster),
          decision: decisionSummary(result, cluster).sentences,
        };
        process.stdout.write(`${JSON.stringify(json)}\n`);
        reportNoFit();
        return;
      }
      const lines = [
        summaryTable(job),
        `lower bound ${result.lowerBoundMs.toFixed(2)} ms; best: ${result.best} (${best.latencyMs.toFixed(2)} ms, ${best.feasible ? 'feasible' : 'over a memory limit'})`,
      ];
      const versus = geneflowGain(result.methods);
      if (versus !== undefined) {
        lines.push(
          `GenEFlow vs best other method (${versus.baseline}): ${versus.gain >= 0 ? '' : '+'}${(-versus.gain * 100).toFixed(1)}% latency`,
        );
      }
      lines.push(...decisionSummary(result, cluster).sentences.slice(0, 4));
      lines.push(
        `plan: ${join(outDir, 'plan.json')}`,
        `report: ${reportPath} (the decision explained, the plan's stages, every method, charts)`,
      );
      if (!best.feasible) {
        lines.push(
          `no method found a plan within every device's memory; the best plan (${best.name}) needs:`,
          formatTable(
            ['device', 'needs MiB', 'limit MiB', 'over MiB'],
            memory.map((m) => [m.device, mib(m.peakBytes), mib(m.limitBytes), m.overBytes > 0 ? mib(m.overBytes) : '-']),
          ),
        );
      }
      process.stdout.write(`${lines.join('\n')}\n`);
      reportNoFit();
    });
}
