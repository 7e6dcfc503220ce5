import { runFitPlan, type FitPlanReport, type RunFitPlanOptions } from '../../fit/execute.ts';
import { readFitPlan } from '../../fit/plan.ts';
import { formatBytes } from '../../fit/size.ts';
import { fail } from '../../errors.ts';
import { loadSecret } from '../../runtime/auth.ts';
import { parseHostPort } from '../../runtime/address.ts';
import { loadModelFromFlags, type ModelFlags } from '../options.ts';
import { Progress } from '../progress.ts';

export interface RunFitFlags extends ModelFlags {
  workers?: string;
  local?: number;
  runs: number;
  warmup: number;
  timeout: number;
  memoryLimit?: number;
  tokenFile?: string;
  json?: boolean;
}

function formatFitReport(r: FitPlanReport): string {
  const ms = (v: number) => (v < 1 ? v.toFixed(3) : v.toFixed(1));
  const within = r.measuredPeakBytes <= r.limitBytes;
  const what = r.includeWeights ? 'activations and weights' : 'activations';
  return `${[
    `${r.model}, fit plan for ${r.device}: ${r.steps} steps on one worker (${r.tiles} tile steps in ${r.groups} groups)`,
    `max abs error vs one whole-model session: ${r.maxAbsError.toExponential(2)}`,
    `memory (${what}): measured peak ${formatBytes(r.measuredPeakBytes)} (${r.measuredPeakBytes} B: tensors the worker held + each step's planned working set), ` +
      `predicted ${formatBytes(r.predictedPeakBytes)} (${r.predictedPeakBytes} B), limit ${formatBytes(r.limitBytes)} (${r.limitBytes} B): ${within ? 'within the limit' : 'ABOVE the limit'}`,
    `worker resident memory above its idle baseline: ${formatBytes(r.rssPeakBytes)} (onnxruntime's sessions and buffers included)`,
    `latency: measured ${ms(r.measuredMs)} ms on this host (median of ${r.runsMs.length}; the worker's steps ${ms(r.computeMs)} ms), predicted ${ms(r.predictedMs)} ms on ${r.device}; ` +
      `the whole model in one session here: ${ms(r.wholeModelMs)} ms CPU`,
  ].join('\n')}\n`;
}

/** `memorianova run MODEL --plan fit.json` (docs/fit.md, "Proof by the runtime"): the fit plan on one worker. */
export async function runFitCommand(spec: string | undefined, planPath: string, flags: RunFitFlags, given: string[]): Promise<void> {
  if (given.length > 0) fail(`${given.join(', ')}: not for a fit plan, which runs as it is on one worker of this host`, 'usage');
  if (spec === undefined) fail('give the model (a built-in name or an .onnx file) the fit plan was made for', 'usage');
  if ((flags.workers === undefined) === (flags.local === undefined)) fail('give exactly one of --workers host:port and --local 1', 'usage');
  if (flags.local !== undefined && flags.local !== 1) fail(`--local ${flags.local}: a fit plan runs on one worker (--local 1)`, 'usage');
  const workers = flags.workers?.split(',').map((w) => w.trim());
  if (workers !== undefined && workers.length !== 1) fail(`--workers lists ${workers.length} workers, a fit plan runs on one`, 'usage');
  if (flags.local !== undefined && flags.tokenFile !== undefined)
    fail('--token-file is for --workers (--local makes a fresh secret)', 'usage');
  const model = loadModelFromFlags(spec, flags);
  const plan = readFitPlan(planPath, model);
  const options: RunFitPlanOptions = { runs: flags.runs, warmup: flags.warmup, timeoutMs: flags.timeout };
  if (workers !== undefined) {
    parseHostPort(workers[0]!, '--workers: the worker');
    options.worker = workers[0]!;
    const secret = loadSecret(flags.tokenFile);
    if (secret !== undefined) options.secret = secret;
  }
  if (flags.memoryLimit !== undefined) options.memoryLimitMB = flags.memoryLimit;
  const progress = new Progress();
  const total = flags.warmup + flags.runs;
  options.onRun = (run, latencyMs) => {
    if (run === 0) progress.phase('runs', total);
    progress.update(run + 1, `${run + 1}/${total}, last ${latencyMs.toFixed(1)} ms${run < flags.warmup ? ' (warm-up)' : ''}`);
    if (run + 1 === total) progress.end(`${total} done`);
  };
  const report = await runFitPlan(model, plan, options);
  process.stdout.write(flags.json ? `${JSON.stringify(report)}\n` : formatFitReport(report));
  if (report.measuredPeakBytes > report.limitBytes) {
    process.stderr.write(
      `error: the measured peak ${formatBytes(report.measuredPeakBytes)} (${report.measuredPeakBytes} B) is above the plan's limit ${formatBytes(report.limitBytes)} (${report.limitBytes} B)\n`,
    );
    process.exitCode = 2;
  }
}
