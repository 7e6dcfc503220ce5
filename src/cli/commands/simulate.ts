import { join } from 'node:path';
import type { Command } from 'commander';
import { loadCluster } from '../../cluster/load.ts';
import type { Cluster } from '../../cluster/types.ts';
import { fail } from '../../errors.ts';
import type { Model } from '../../ir/graph.ts';
import { DEFAULT_ORDER_TIME_LIMIT_MS, planOrder } from '../../ordering/plan.ts';
import { proportionalPlan, singleDevicePlan } from '../../plan/build.ts';
import { planModel, readPlan } from '../../plan/io.ts';
import type { Plan } from '../../plan/types.ts';
import { renderChart } from '../../report/charts.ts';
import { ganttChartSpec } from '../../simulate/gantt.ts';
import { simulate } from '../../simulate/simulate.ts';
import type { SimulationResult } from '../../simulate/types.ts';
import {
  addModelOptions,
  formatTable,
  HOST_PROFILE_HELP,
  loadModelForPlan,
  loadModelFromFlags,
  mebibytes,
  positiveNumber,
  type ModelFlags,
  makeOutputDir,
  writeAndTell,
  withHostProfile,
} from '../options.ts';
import { btsearchStatus, Progress } from '../progress.ts';

interface SimulateFlags extends ModelFlags {
  cluster?: string;
  hostProfile?: string;
  plan: string;
  orderTimeLimit: number;
  json?: boolean;
  plot?: string;
}

const BUILT_IN_PLANS = ['single', 'proportional'];

/** A built-in plan over BTSearch's order, or a plan file checked against the model. */
function resolvePlan(model: Model, flags: SimulateFlags): { plan: Plan; cluster: Cluster } {
  if (BUILT_IN_PLANS.includes(flags.plan)) {
    if (flags.cluster === undefined) fail(`--plan ${flags.plan} needs --cluster <preset | file>`, 'usage');
    const cluster = withHostProfile(model, loadCluster(flags.cluster), flags.hostProfile);
    const limitMs = flags.orderTimeLimit * 1000;
    const progress = new Progress();
    progress.phase('BTSearch', limitMs, `order for the ${flags.plan} plan, budget ${(limitMs / 1000).toFixed(1)} s`);
    const search = planOrder(model, { timeLimitMs: limitMs, onProgress: (p) => progress.update(p.elapsedMs, btsearchStatus(p, limitMs)) });
    progress.end(`peak ${mebibytes(search.peakBytes)} in ${(search.timeMs / 1000).toFixed(2)} s`);
    const order = search.orderNames;
    const plan = flags.plan === 'single' ? singleDevicePlan(model, cluster, order) : proportionalPlan(model, cluster, order);
    return { plan, cluster };
  }
  const plan = readPlan(flags.plan, model);
  return {
    plan,
    cluster: withHostProfile(model, flags.cluster === undefined ? plan.cluster : loadCluster(flags.cluster), flags.hostProfile),
  };
}

const ms = (value: number) => value.toFixed(1);

function report(model: Model, cluster: Cluster, plan: Plan, result: SimulationResult): string {
  const { computeMs, criticalPathMs, ioMs, outputMs, inputMs } = result.lowerBound;
  const lines = [
    `${model.name} on ${cluster.name} (${cluster.devices.length} devices), plan '${plan.method}': latency ${ms(result.latencyMs)} ms, ` +
      `lower bound ${ms(result.lowerBoundMs)} ms (${(result.latencyMs / result.lowerBoundMs).toFixed(2)}×), ${result.feasible ? 'feasible' : 'INFEASIBLE'}`,
    `lower bound = max(compute ${ms(computeMs)}, io ${ms(ioMs)} + critical path ${ms(criticalPathMs)}, output ${ms(outputMs)}, input ${ms(inputMs)}) ms; ` +
      `${mebibytes(result.bytesMoved)} moved in ${result.messages} deliveries`,
    formatTable(
      ['device', 'compute ms', 'send ms', 'receive ms', 'idle ms', 'GFLOP', 'sent', 'received', 'weights', 'peak', 'limit'],
      result.devices.map((d, i) => [
        d.device,
        ms(d.computeMs),
        ms(d.sendMs),
        ms(d.receiveMs),
        ms(d.idleMs),
        (d.flops / 1e9).toFixed(3),
        mebibytes(d.bytesSent),
        mebibytes(d.bytesReceived),
        mebibytes(d.weightBytes),
        mebibytes(result.devicePeakBytes[i]!),
        mebibytes(cluster.devices[i]!.memoryMB * 2 ** 20),
      ]),
    ),
    ...result.violations.map(
      (v) => `memory limit exceeded on ${v.deviceName}: peak ${mebibytes(v.peakBytes)} > limit ${mebibytes(v.limitBytes)}`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}

export function register(program: Command): void {
  const command = program
    .command('simulate')
    .description('simulate a partition plan on an edge cluster: latency, per-device timeline and memory')
    .argument('<model>', 'built-in model name (see `memorianova zoo`) or a path to an .onnx file');
  addModelOptions(command)
    .option(
      '--cluster <preset|file>',
      "cluster preset (homo2, homo4, homo6, homo8, hetero4, hetero8) or YAML/JSON file; default: the plan file's own",
    )
    .requiredOption(
      '--plan <plan.json|single|proportional>',
      "a plan file, or a built-in plan over BTSearch's order: single (fastest device) or proportional (every layer split by device speed)",
    )
    .option(
      '--order-time-limit <seconds>',
      'built-in plans: BTSearch budget for the order',
      positiveNumber('--order-time-limit'),
      DEFAULT_ORDER_TIME_LIMIT_MS / 1000,
    )
    .option('--host-profile <file>', HOST_PROFILE_HELP)
    .option('--plot <dir>', 'write gantt.svg and gantt.png (per-device timeline) into this folder')
    .option('--json', 'print one JSON object')
    .action(async (spec: string, flags: SimulateFlags) => {
      if (flags.plot !== undefined) makeOutputDir(flags.plot, '--plot');
      const model = BUILT_IN_PLANS.includes(flags.plan)
        ? loadModelFromFlags(spec, flags)
        : loadModelForPlan(spec, flags, planModel(flags.plan), `plan file ${flags.plan}`);
      const { plan, cluster } = resolvePlan(model, flags);
      const result = simulate(model, cluster, plan);
      const files: [string, string | Uint8Array][] = [];
      if (flags.plot !== undefined) {
        makeOutputDir(flags.plot, '--plot');
        const { svg, png } = await renderChart(ganttChartSpec(result, `${model.name} on ${cluster.name}, plan ${plan.method}`));
        files.push([join(flags.plot, 'gantt.svg'), svg], [join(flags.plot, 'gantt.png'), png]);
      }
      const tell = writeAndTell(files);
      if (flags.json) {
        const { timeline: _timeline, ...summary } = result;
        process.stdout.write(`${JSON.stringify({ model: model.name, cluster: cluster.name, method: plan.method, ...summary })}\n`);
      } else process.stdout.write(report(model, cluster, plan, result));
      tell(flags.json);
    });
}
