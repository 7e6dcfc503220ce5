import { join } from 'node:path';
import type { Command } from 'commander';
import { memoryOverStepsChart } from '../../ordering/chart.ts';
import { DEFAULT_ORDER_TIME_LIMIT_MS, planOrder, type OrderPlan } from '../../ordering/plan.ts';
import { savedOrderOf } from '../../ordering/saved.ts';
import { renderChart } from '../../report/charts.ts';
import {
  addModelOptions,
  formatTable,
  loadModelFromFlags,
  makeOutputDir,
  mebibytes,
  positiveInteger,
  type ModelFlags,
  writeAndTell,
  checkOutputFile,
  writeOutputFile,
} from '../options.ts';
import { fail } from '../../errors.ts';
import { btsearchStatus, Progress } from '../progress.ts';

interface OrderFlags extends ModelFlags {
  timeLimit: number;
  json?: boolean;
  out?: string;
  inplace: boolean;
  includeWeights?: boolean;
  fuse?: boolean;
  plot?: string;
  randomSamples?: number;
  seed?: number;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) fail(`--time-limit must be a number of seconds ≥ 0, got '${value}'`, 'usage');
  return n;
}

function table(plan: OrderPlan): string {
  const mean = plan.baselines.find((b) => b.method === 'random-mean')!.peakBytes;
  const change = (peak: number) => `${peak <= mean ? '' : '+'}${(((peak - mean) / mean) * 100).toFixed(1)}%`;
  const rows: (string | number)[][] = [
    [
      'btsearch',
      mebibytes(plan.peakBytes),
      change(plan.peakBytes),
      `${(plan.timeMs / 1000).toFixed(2)} s`,
      plan.statesVisited,
      plan.optimal ? 'yes' : 'no',
    ],
    ...plan.baselines.map((b) => [b.method, mebibytes(b.peakBytes), change(b.peakBytes), '', '', '']),
  ];
  const header =
    `${plan.model}: ${plan.operators} operators in ${plan.segments} segments (stretches between cut points that every order runs one after another); ` +
    `${plan.searchedSegments} needed a search, the bounds settled the rest. Peaks count ${plan.includeWeights ? 'activations and weights' : `activations only (weights ${mebibytes(plan.weightBytes)} apart)`}${plan.inplace ? '' : ', no in-place reuse'}${plan.fuse ? ', tensors inside fused groups not counted' : ''}`;
  const bound = plan.optimal
    ? 'proven optimal (no order of these operators peaks lower)'
    : `not proven: every order needs at least ${mebibytes(plan.lowerBoundBytes)}`;
  const method =
    plan.arenaMethod === 'greedy-by-size'
      ? "TensorFlow Lite's greedy by size (largest first, lowest free offset)"
      : `placement ${plan.arenaMethod}`;
  const arena =
    `arena (one buffer, every activation at a fixed offset) for the btsearch order: ${mebibytes(plan.arenaBytes)} with ${method}` +
    (plan.arenaMethod === 'greedy-by-size' ? '' : `; greedy by size needs ${mebibytes(plan.arenaGreedyBytes)}`);
  return `${header}\n${formatTable(['method', 'peak', 'vs random mean', 'search time', 'states', 'optimal'], rows)}\n${bound}\n${arena}\n`;
}

export function register(program: Command): void {
  const command = program
    .command('order')
    .description('BTSearch: the operator order with the least peak activation memory, against baseline orders')
    .argument('<model>', 'built-in model name (see `memorianova zoo`) or a path to an .onnx file');
  addModelOptions(command)
    .option(
      '--time-limit <seconds>',
      'search budget; past it the best order so far and a proven lower bound are reported',
      seconds,
      DEFAULT_ORDER_TIME_LIMIT_MS / 1000,
    )
    .option('--no-inplace', 'do not let element-wise operators reuse a dying input buffer')
    .option('--include-weights', 'count the weights as resident memory in every peak')
    .option('--fuse', 'tensors inside an operator group ONNX Runtime fuses into one kernel take no memory (docs/memory.md)')
    .option(
      '--random-samples <n>',
      'random topological orders sampled for the random baseline (default 100)',
      positiveInteger('--random-samples'),
    )
    .option('--seed <n>', 'seed of the first random order (default 1)', positiveInteger('--seed'))
    .option('--out <order.json>', 'save the order (operator names), its peak and the model fingerprint')
    .option('--plot <dir>', 'write order-memory.svg and order-memory.png (live memory per step) into this folder')
    .option('--json', 'print one JSON object')
    .action(async (spec: string, flags: OrderFlags) => {
      if (flags.out !== undefined) checkOutputFile(flags.out, '--out');
      if (flags.plot !== undefined) makeOutputDir(flags.plot, '--plot');
      const timeLimitMs = flags.timeLimit * 1000;
      const model = loadModelFromFlags(spec, flags);
      const progress = new Progress();
      progress.phase('BTSearch', timeLimitMs, `${model.ops.length} operators, budget ${(timeLimitMs / 1000).toFixed(1)} s`);
      const plan = planOrder(model, {
        onProgress: (p) => progress.update(p.elapsedMs, btsearchStatus(p, timeLimitMs)),
        inplace: flags.inplace,
        includeWeights: flags.includeWeights ?? false,
        fuse: flags.fuse ?? false,
        timeLimitMs,
        ...(flags.randomSamples === undefined ? {} : { randomSamples: flags.randomSamples }),
        ...(flags.seed === undefined ? {} : { seed: flags.seed }),
      });
      progress.end(`peak ${mebibytes(plan.peakBytes)} in ${(plan.timeMs / 1000).toFixed(2)} s`);
      if (flags.out !== undefined) writeOutputFile(flags.out, `${JSON.stringify(savedOrderOf(plan), null, 1)}\n`);
      const files: [string, string | Uint8Array][] = [];
      if (flags.plot !== undefined) {
        makeOutputDir(flags.plot, '--plot');
        const { svg, png } = await renderChart(memoryOverStepsChart(plan));
        files.push([join(flags.plot, 'order-memory.svg'), svg], [join(flags.plot, 'order-memory.png'), png]);
      }
      const tell = writeAndTell(files);
      if (flags.json) {
        const json = {
          model: plan.model,
          fingerprint: plan.fingerprint,
          operators: plan.operators,
          peakBytes: plan.peakBytes,
          optimal: plan.optimal,
          lowerBoundBytes: plan.lowerBoundBytes,
          timeMs: Math.round(plan.timeMs * 1000) / 1000,
          statesVisited: plan.statesVisited,
          segments: plan.segments,
          searchedSegments: plan.searchedSegments,
          order: plan.orderNames,
          baselines: plan.baselines.map((b) => ({ method: b.method, peakBytes: b.peakBytes })),
          arenaBytes: plan.arenaBytes,
          arenaMethod: plan.arenaMethod,
          arenaGreedyBytes: plan.arenaGreedyBytes,
          weightBytes: plan.weightBytes,
          includeWeights: plan.includeWeights,
          inplace: plan.inplace,
          fuse: plan.fuse,
        };
        process.stdout.write(`${JSON.stringify(json)}\n`);
      } else process.stdout.write(table(plan));
      tell(flags.json);
    });
}
