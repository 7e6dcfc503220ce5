import { join } from 'node:path';
import type { Command } from 'commander';
import { loadProfile } from '../../cluster/load.ts';
import { fail, MemoriaNovaError } from '../../errors.ts';
import type { Model } from '../../ir/graph.ts';
import { planModel, readPlan, validatePlan } from '../../plan/io.ts';
import { BUNDLE_FILE, readBundleIndex } from '../../runtime/manifest.ts';
import { renderChart } from '../../report/charts.ts';
import { parseHostPort } from '../../runtime/address.ts';
import { loadSecret, TOKEN_ENV } from '../../runtime/auth.ts';
import { runChartSpec } from '../../runtime/chart.ts';
import { runPlan, type RunPlanOptions, type RunReport } from '../../runtime/run.ts';
import {
  addModelOptions,
  formatTable,
  loadModelForPlan,
  mebibytes,
  positiveInteger,
  positiveNumber,
  type ModelFlags,
  writeAndTell,
  checkOutputFile,
} from '../options.ts';
import { Progress } from '../progress.ts';
import { isFitPlanFile } from '../../fit/plan.ts';
import { runFitCommand } from './run-fit.ts';

interface RunFlags extends ModelFlags {
  plan?: string;
  bundle?: string;
  workers?: string;
  local?: number;
  runs: number;
  warmup: number;
  emulateLinks?: boolean;
  emulate?: boolean;
  hostProfile?: string;
  timeout: number;
  memoryLimit?: number;
  chart?: string;
  json?: boolean;
  tokenFile?: string;
}

/** The `--json` object of `memorianova run` (docs/runtime.md, "Measurements"). */
export function runJson(report: RunReport) {
  return {
    model: report.model,
    method: report.method,
    cluster: report.cluster,
    measuredMs: report.measuredMs,
    predictedMs: report.predictedMs,
    errorPercent: report.errorPercent,
    maxAbsError: report.maxAbsError,
    runsMs: report.runsMs,
    hostGflops: report.hostGflops,
    hostProfileGflops: report.hostProfileGflops ?? null,
    calibrated: report.calibrated,
    emulateLinks: report.emulateLinks,
    emulateDevices: report.emulateDevices,
    bundle: report.bundle,
    startMs: report.startMs,
    setupMs: report.setupMs,
    firstResultMs: report.firstResultMs,
    workers: report.workers,
  };
}

function formatReport(report: RunReport): string {
  const ms = (v: number) => v.toFixed(1);
  const lines = [
    `${report.model}, ${report.method} plan on ${report.cluster}: measured ${ms(report.measuredMs)} ms (median of ${report.runsMs.length}), ` +
      `predicted ${ms(report.predictedMs)} ms, error ${report.errorPercent >= 0 ? '+' : ''}${report.errorPercent.toFixed(1)}%`,
    `max abs error vs one whole-model session: ${report.maxAbsError.toExponential(2)}`,
    `${report.bundle ? 'workers ran the bundle' : 'sub-models shipped to the workers'}: ${report.startMs === null ? '' : `workers started in ${ms(report.startMs)} ms, `}set up in ${ms(report.setupMs)} ms, first result after ${ms(report.firstResultMs)} ms`,
    `links ${report.emulateLinks ? 'emulated' : 'not emulated'}; devices ${report.emulateDevices ? `emulated (host ${report.hostGflops.toFixed(1)} GFLOP/s now${report.hostProfileGflops === undefined ? '' : `, ${report.hostProfileGflops.toFixed(1)} in its profile`})` : 'not emulated'}; prediction ${report.calibrated ? 'calibrated by the host profile' : 'from the cluster file alone'}`,
    ...(report.emulateLinks && report.emulateDevices
      ? []
      : [
          `hint: the prediction is for the plan's cluster, the measurement for this host as it is; add ${[report.emulateDevices ? '' : '--emulate', report.emulateLinks ? '' : '--emulate-links'].filter((f) => f !== '').join(' ')} (and --host-profile FILE from memorianova profile) to run on that cluster's device speeds and links, so the error compares like with like`,
        ]),
    '',
    formatTable(
      ['worker', 'slowdown', 'compute ms', 'predicted', 'wait ms', 'send ms', 'predicted', 'peak RSS', 'tensors peak', 'predicted'],
      report.workers.map((w) => [
        w.name,
        `×${w.slowdown.toFixed(2)}`,
        ms(w.computeMs),
        ms(w.predictedComputeMs),
        ms(w.waitMs),
        ms(w.sendMs),
        ms(w.predictedSendMs),
        mebibytes(w.peakBytes, 1),
        mebibytes(w.tensorPeakBytes, 1),
        mebibytes(w.predictedPeakBytes, 1),
      ]),
    ),
    ...formatStepErrors(report),
  ];
  return `${lines.join('\n')}\n`;
}

/** How many steps the text output lists under the per-worker table. */
export const TOP_STEPS = 5;

/**
 * The steps whose compute is furthest from its prediction (docs/runtime.md, "Measurements"): the TOP_STEPS largest
 * |measured − predicted| over all workers' steps, each with its share of Σ |measured − predicted| over all of them.
 */
export function largestStepErrors(report: RunReport, top = TOP_STEPS) {
  const all = report.workers.flatMap((w) =>
    w.steps.map((s) => ({
      worker: w.name,
      step: s.name,
      measuredMs: s.measuredMs,
      predictedMs: s.predictedMs,
      errorMs: s.measuredMs - s.predictedMs,
    })),
  );
  const totalMs = all.reduce((n, s) => n + Math.abs(s.errorMs), 0);
  const largest = [...all]
    .sort((a, b) => Math.abs(b.errorMs) - Math.abs(a.errorMs))
    .slice(0, top)
    .map((s) => ({ ...s, sharePercent: totalMs === 0 ? 0 : (Math.abs(s.errorMs) / totalMs) * 100 }));
  return { steps: all.length, totalMs, largest };
}

function formatStepErrors(report: RunReport): string[] {
  const { steps, totalMs, largest } = largestStepErrors(report);
  if (steps === 0) return [];
  const ms = (v: number) => v.toFixed(1);
  return [
    '',
    `steps with the largest compute error (${largest.length} of ${steps}; Σ |measured − predicted| over all steps ${ms(totalMs)} ms):`,
    formatTable(
      ['worker', 'step', 'measured ms', 'predicted', 'error ms', 'share of Σ|error|'],
      largest.map((s) => [
        s.worker,
        s.step,
        ms(s.measuredMs),
        ms(s.predictedMs),
        `${s.errorMs >= 0 ? '+' : ''}${ms(s.errorMs)}`,
        `${s.sharePercent.toFixed(1)}%`,
      ]),
    ),
  ];
}

export function register(program: Command): void {
  const command = program
    .command('run')
    .description('execute a plan on worker processes with onnxruntime, check the output and compare with the prediction (docs/runtime.md)')
    .argument('[model]', "built-in model name or a path to an .onnx file (with --bundle: default the bundle's model name)");
  addModelOptions(command)
    .option('--plan <file>', 'plan file (memorianova plan / simulate), or a fit plan (memorianova fit --out: fit.json) run on one worker')
    .option('--bundle <dir>', 'a bundle written by deploy: the workers run its device folders (worker --bundle), only tensors travel')
    .option('--workers <list>', 'comma-separated host:port of running workers, one per plan device, in order')
    .option('--token-file <path>', `--workers: file holding the workers' secret (or set ${TOKEN_ENV})`)
    .option('--local <n>', 'start n local worker processes (one per plan device) and stop them after', positiveInteger('--local'))
    .option('--runs <n>', 'measured runs (the median is reported)', positiveInteger('--runs'), 5)
    .option('--warmup <n>', 'unmeasured runs first', (v) => (v === '0' ? 0 : positiveInteger('--warmup')(v)), 1)
    .option('--emulate-links', "emulate the plan cluster's links: rates, per-message latency, router forwarding")
    .option(
      '--emulate',
      "stretch each worker's compute to its device's speed (host speed re-measured before every run; workers take turns on the processor)",
    )
    .option('--host-profile <file>', 'profile of this machine for the model (memorianova profile): calibrates the prediction')
    .option('--timeout <ms>', 'fail when a worker stays silent this long', positiveNumber('--timeout'), 30_000)
    .option('--memory-limit <MiB>', 'local workers: resident-memory limit above their idle baseline', positiveNumber('--memory-limit'))
    .option('--chart <path>', 'write measured-vs-predicted bars to <path>.svg and <path>.png')
    .option('--json', 'print one JSON object')
    .action(async (spec: string | undefined, flags: RunFlags) => {
      if (flags.plan !== undefined && isFitPlanFile(flags.plan)) {
        const given = [
          [flags.bundle, '--bundle'],
          [flags.emulate, '--emulate'],
          [flags.emulateLinks, '--emulate-links'],
          [flags.hostProfile, '--host-profile'],
          [flags.chart, '--chart'],
        ].flatMap(([value, flag]) => (value === undefined ? [] : [flag as string]));
        return runFitCommand(spec, flags.plan, flags, given);
      }
      if (flags.chart !== undefined) checkOutputFile(`${flags.chart}.svg`, '--chart');
      if ((flags.workers === undefined) === (flags.local === undefined))
        fail('give exactly one of --workers host:port,... and --local N', 'usage');
      if ((flags.plan === undefined) === (flags.bundle === undefined)) fail('give exactly one of --plan FILE and --bundle DIR', 'usage');
      const bundle = flags.bundle === undefined ? undefined : { dir: flags.bundle, index: readBundleIndex(flags.bundle) };
      const name = spec ?? bundle?.index.model.name;
      if (name === undefined) fail('give the model (a built-in name or an .onnx file)', 'usage');
      let model: Model;
      try {
        model =
          bundle === undefined
            ? loadModelForPlan(name, flags, planModel(flags.plan!), `plan file ${flags.plan!}`)
            : loadModelForPlan(
                name,
                flags,
                planModel(bundle.index.plan, `bundle ${join(bundle.dir, BUNDLE_FILE)}: plan`),
                `the plan of bundle ${bundle.dir}`,
              );
      } catch (error) {
        if (spec !== undefined || !(error instanceof MemoriaNovaError)) throw error;
        fail(
          `bundle '${flags.bundle}' is of model '${name}', which is not a built-in model: give its .onnx file (run MODEL.onnx --bundle DIR)`,
          'usage',
        );
      }
      const plan =
        bundle === undefined
          ? readPlan(flags.plan!, model)
          : validatePlan(bundle.index.plan, model, `bundle ${join(bundle.dir, BUNDLE_FILE)}: plan`, bundle.dir);
      const devices = plan.cluster.devices.length;
      const workers = flags.workers?.split(',').map((w) => w.trim());
      if (workers !== undefined && workers.length !== devices)
        fail(`--workers lists ${workers.length} workers, the plan has ${devices} devices`, 'usage');
      for (const w of workers ?? []) parseHostPort(w, '--workers: each worker');
      if (flags.local !== undefined && flags.tokenFile !== undefined)
        fail('--token-file is for --workers (--local makes a fresh secret)', 'usage');
      const secret = flags.workers === undefined ? undefined : loadSecret(flags.tokenFile);
      if (flags.local !== undefined && flags.local !== devices) fail(`--local ${flags.local}: the plan has ${devices} devices`, 'usage');
      const options: RunPlanOptions = {
        runs: flags.runs,
        warmup: flags.warmup,
        emulateLinks: flags.emulateLinks ?? false,
        emulateDevices: flags.emulate ?? false,
        timeoutMs: flags.timeout,
      };
      if (workers !== undefined) options.workers = workers;
      if (bundle !== undefined) options.bundle = bundle;
      if (secret !== undefined) options.secret = secret;
      if (flags.local !== undefined) options.local = flags.local;
      if (flags.hostProfile !== undefined) options.hostProfile = loadProfile(flags.hostProfile, `--host-profile ${flags.hostProfile}`);
      if (flags.memoryLimit !== undefined) options.memoryLimitMB = flags.memoryLimit;
      const progress = new Progress();
      const total = flags.warmup + flags.runs;
      options.onRun = (run, latencyMs) => {
        if (run === 0) progress.phase('runs', total);
        progress.update(run + 1, `${run + 1}/${total}, last ${latencyMs.toFixed(1)} ms${run < flags.warmup ? ' (warm-up)' : ''}`);
        if (run + 1 === total) progress.end(`${total} done`);
      };
      const report = await runPlan(model, plan, options);
      const files: [string, string | Uint8Array][] = [];
      if (flags.chart !== undefined) {
        const { svg, png } = await renderChart(runChartSpec(report));
        files.push([`${flags.chart}.svg`, svg], [`${flags.chart}.png`, png]);
      }
      const tell = writeAndTell(files);
      process.stdout.write(flags.json ? `${JSON.stringify(runJson(report))}\n` : formatReport(report));
      tell(flags.json);
    });
}
