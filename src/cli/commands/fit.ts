import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { fail } from '../../errors.ts';
import { frontChart } from '../../fit/chart.ts';
import type { HaloMode } from '../../fit/tiles.ts';
import { resolveDevice } from '../../fit/device.ts';
import { fitModel, type FitExecution, type FitGroup, type FitResult } from '../../fit/fit.ts';
import { fitPlanOf } from '../../fit/plan.ts';
import { DEFAULT_SPACE } from '../../fit/search.ts';
import { formatBytes, parseByteSize } from '../../fit/size.ts';
import { chartToSvg } from '../../report/charts.ts';
import { addModelOptions, formatTable, loadModelFromFlags, positiveInteger, type ModelFlags } from '../options.ts';

interface FitFlags extends ModelFlags {
  memory: string;
  device: string;
  includeWeights?: boolean;
  inplace: boolean;
  maxGrid?: number;
  maxDepth?: number;
  maxChunks?: number;
  halo: string;
  sweep?: boolean;
  json?: boolean;
  out?: string;
}

const round = (x: number, digits = 4) => Math.round(x * 10 ** digits) / 10 ** digits;

/** `rows`x`cols` for a spatial grid, `<k> chunks` for token chunks. */
function gridName(g: FitGroup): string {
  return g.kind === 'tokens' ? `${g.rows} chunks` : `${g.rows}x${g.cols}`;
}

function executionJson(e: FitExecution) {
  return {
    order: e.orderName,
    peakBytes: e.peakBytes,
    latencyMs: round(e.latencyMs),
    overheadFlops: e.overheadFlops,
    groups: e.groups.map((g) => ({
      first: g.first,
      last: g.last,
      operators: g.operators,
      kind: g.kind,
      grid: gridName(g),
      rows: g.rows,
      cols: g.cols,
      ...(g.kind === 'tokens' ? { chunks: g.rows } : {}),
      halo: g.halo,
      tiles: g.tiles,
      peakBytes: g.peakBytes,
      latencyMs: round(g.latencyMs),
      overheadFlops: g.overheadFlops,
    })),
  };
}

function resultJson(r: FitResult, sweep: boolean) {
  const chosen = r.best ?? r.leastPeak;
  return {
    model: r.model,
    device: r.device,
    limitBytes: r.limitBytes,
    feasible: r.feasible,
    order: chosen.orderName,
    peakBytes: chosen.peakBytes,
    latencyMs: round(chosen.latencyMs),
    overheadFlops: chosen.overheadFlops,
    baselinePeakBytes: r.baselinePeakBytes,
    baselineLatencyMs: round(r.baselineLatencyMs),
    baselineOptimal: r.baselineOptimal,
    leastPeakBytes: r.leastPeak.peakBytes,
    includeWeights: r.includeWeights,
    weightBytes: r.weightBytes,
    halo: r.halo,
    groups: executionJson(chosen).groups,
    space: r.space,
    ...(sweep ? { front: r.front.map(executionJson) } : {}),
  };
}

function percent(x: number, base: number): string {
  const change = ((x - base) / base) * 100;
  return `${change >= 0 || change > -0.05 ? '+' : ''}${Math.abs(change) < 0.05 ? '0.0' : change.toFixed(1)}%`;
}

function summary(r: FitResult, e: FitExecution): string {
  const what = r.includeWeights ? 'memory (weights included)' : 'activation memory';
  const lines = [
    `${r.model} on ${r.device}, limit ${formatBytes(r.limitBytes)} of ${what}: fits`,
    `peak ${formatBytes(e.peakBytes)} (BTSearch order untiled: ${formatBytes(r.baselinePeakBytes)}, ${percent(e.peakBytes, r.baselinePeakBytes)}), ` +
      `latency ${e.latencyMs.toFixed(2)} ms (untiled ${r.baselineLatencyMs.toFixed(2)} ms, ${percent(e.latencyMs, r.baselineLatencyMs)}), ` +
      `halo recompute ${(e.overheadFlops / 1e6).toFixed(2)} MFLOPs${e.orderName === 'btsearch' ? '' : `, order ${e.orderName}`}`,
  ];
  if (e.groups.length === 0) lines.push('no tiling needed: every operator runs whole, layer by layer');
  else
    lines.push(
      formatTable(
        ['group (first .. last operator)', 'ops', 'grid', 'tiles', 'peak', 'ms', 'halo MFLOPs'],
        e.groups.map((g) => [
          `${g.first} .. ${g.last}`,
          g.operators,
          `${gridName(g)}${g.halo === 'cache' ? ' cached' : ''}`,
          g.tiles,
          formatBytes(g.peakBytes),
          g.latencyMs.toFixed(2),
          (g.overheadFlops / 1e6).toFixed(2),
        ]),
      ),
    );
  lines.push(
    `searched exactly: ${r.space.segmentsEvaluated} pieces over ${r.space.operators} operators (${r.space.tileable} tileable), ` +
      `groups of ≤ ${r.space.maxDepth} operators, ${
        r.context.layout.kind === 'cnn' ? `grids 1..${r.space.maxGrid} × 1..${r.space.maxGrid}` : `2..${r.space.maxChunks} token chunks`
      }${r.halo === 'cache' ? ', halos recomputed or cached' : ''}, in ${(r.searchMs / 1000).toFixed(1)} s`,
  );
  return `${lines.join('\n')}\n`;
}

function frontTable(r: FitResult): string {
  return `${formatTable(
    ['peak', 'vs untiled', 'latency ms', 'vs untiled', 'groups', 'halo MFLOPs'],
    r.front.map((e) => [
      formatBytes(e.peakBytes),
      percent(e.peakBytes, r.baselinePeakBytes),
      e.latencyMs.toFixed(2),
      percent(e.latencyMs, r.baselineLatencyMs),
      e.groups.length,
      (e.overheadFlops / 1e6).toFixed(2),
    ]),
  )}\n`;
}

export function register(program: Command): void {
  const command = program
    .command('fit')
    .description('fused tiling on one device: the fastest execution whose peak memory stays within --memory')
    .argument('<model>', 'built-in model name (see `memorianova zoo`) or a path to an .onnx file');
  addModelOptions(command)
    .requiredOption('--memory <size>', 'the memory limit, e.g. 256KiB, 48MiB, 1.5GiB (activations only unless --include-weights)')
    .option('--device <device>', 'a device class (pi, jetson, laptop) or <cluster file>:<device name>', 'pi')
    .option('--include-weights', 'count the weights as resident memory')
    .option('--no-inplace', 'do not let element-wise operators reuse a dying input buffer')
    .option('--max-grid <n>', `largest rows and cols of a group's grid (default ${DEFAULT_SPACE.maxGrid})`, positiveInteger('--max-grid'))
    .option(
      '--max-chunks <n>',
      `most token chunks of a sequence model's group (default ${DEFAULT_SPACE.maxChunks})`,
      positiveInteger('--max-chunks'),
    )
    .option('--max-depth <n>', `most operators in one group (default ${DEFAULT_SPACE.maxDepth})`, positiveInteger('--max-depth'))
    .option(
      '--halo <mode>',
      'recompute: every tile recomputes its halos; cache: a group may also cache them down its grid columns',
      'recompute',
    )
    .option('--sweep', 'print the Pareto front of peak memory against latency (with --out: front.svg)')
    .option('--out <dir>', 'write fit.json (the plan) and, with --sweep, front.svg into this folder')
    .option('--json', 'print one JSON object')
    .action(async (spec: string, flags: FitFlags) => {
      const limitBytes = parseByteSize(flags.memory, '--memory');
      if (flags.halo !== 'recompute' && flags.halo !== 'cache') fail(`--halo must be recompute or cache, got '${flags.halo}'`, 'usage');
      const halo: HaloMode = flags.halo;
      const device = resolveDevice(flags.device);
      const model = loadModelFromFlags(spec, flags);
      const result = fitModel(model, {
        limitBytes,
        device,
        includeWeights: flags.includeWeights ?? false,
        inplace: flags.inplace,
        space: {
          maxGrid: flags.maxGrid ?? DEFAULT_SPACE.maxGrid,
          maxDepth: flags.maxDepth ?? DEFAULT_SPACE.maxDepth,
          maxChunks: flags.maxChunks ?? DEFAULT_SPACE.maxChunks,
          ...(halo === 'cache' ? { halo } : {}),
        },
      });
      if (flags.out !== undefined) {
        mkdirSync(flags.out, { recursive: true });
        writeFileSync(join(flags.out, 'fit.json'), `${JSON.stringify(fitPlanOf(result), null, 1)}\n`);
        if (flags.sweep) writeFileSync(join(flags.out, 'front.svg'), await chartToSvg(frontChart(result)));
      }
      if (flags.json) process.stdout.write(`${JSON.stringify(resultJson(result, flags.sweep === true))}\n`);
      else if (flags.sweep)
        process.stdout.write(`${result.model} on ${result.device}: Pareto front of peak against latency\n${frontTable(result)}`);
      if (!result.feasible) {
        if (!flags.json)
          process.stderr.write(
            `error: ${result.model} does not fit in ${formatBytes(limitBytes)}: the least memory any execution in the space needs is ` +
              `${formatBytes(result.leastPeak.peakBytes)} (${result.leastPeak.peakBytes} bytes; untiled ${formatBytes(result.baselinePeakBytes)})\n`,
          );
        process.exitCode = 2;
        return;
      }
      if (!flags.json) process.stdout.write(summary(result, result.best!));
    });
}
