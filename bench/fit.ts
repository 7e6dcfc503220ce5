/**
 * Fit benchmark (npm run bench:fit [-- --models a,b --max-depth N --max-grid N --device pi --out DIR --json]): every
 * zoo CNN (or --models), one fit sweep each (`memorianova fit <model> --memory 1B --sweep`: the exact Pareto front of
 * peak against latency over the space), and from that one front the table of docs/fit.md ("Measured"): the BTSearch
 * peak untiled and its latency, the least peak with tiling, and the fastest front point within ½, ¼ and ⅛ of the
 * BTSearch peak. Then (unless --halo recompute) the same sweep with cached halos (`fit --halo cache`) and the halo
 * table of docs/fit.md: least peak and latency changes recomputing against caching. Progress on stderr, the markdown
 * tables on stdout (with --json one JSON object instead), the rows as JSON in DIR/fit-bench.json (default
 * results/bench-fit).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeOutputDir } from '../src/cli/options.ts';
import { MemoriaNovaError, fail } from '../src/errors.ts';
import { resolveDevice } from '../src/fit/device.ts';
import { formatBytes } from '../src/fit/size.ts';
import { DEFAULT_SPACE, fitModel, type FitSpace } from '../src/index.ts';
import { loadModel } from '../src/model/load.ts';
import { ZOO, zooEntry } from '../src/zoo/index.ts';
import { FRACTIONS, fitRow, formatChange, haloRow, haloTable, markdownTable, type FitRow, type HaloRow } from './fit-table.ts';

const args = process.argv.slice(2);
const KNOWN = new Set(['--models', '--max-depth', '--max-grid', '--device', '--out', '--json', '--halo']);

function flag(name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const value = args[i + 1];
  if (value === undefined || value.startsWith('--')) fail(`${name} needs a value`, 'usage');
  return value;
}

function positive(name: string, fallback: number): number {
  const text = flag(name);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) fail(`${name} must be a positive integer, got '${text}'`, 'usage');
  return n;
}

/** The goal models first (docs/fit.md), then every other zoo CNN in zoo order. */
const FIRST = ['yolov2', 'mobilenetv3-large', 'resnet50'];
const CNNS = ZOO.filter((e) => e.family === 'cnn').map((e) => e.name);
const DEFAULT_MODELS = [...FIRST.filter((m) => CNNS.includes(m)), ...CNNS.filter((m) => !FIRST.includes(m))];

async function main(): Promise<void> {
  for (const a of args) if (a.startsWith('--') && !KNOWN.has(a)) fail(`unknown option '${a}' (options: ${[...KNOWN].join(', ')})`, 'usage');
  const models = (flag('--models') ?? DEFAULT_MODELS.join(',')).split(',').filter((m) => m !== '');
  for (const m of models) {
    const entry = zooEntry(m);
    if (entry.family !== 'cnn') fail(`'${m}' is not a CNN: fit tiles CNNs only (zoo CNNs: ${CNNS.join(', ')})`, 'usage');
  }
  const space: FitSpace = {
    maxDepth: positive('--max-depth', DEFAULT_SPACE.maxDepth),
    maxGrid: positive('--max-grid', DEFAULT_SPACE.maxGrid),
  };
  const deviceSpec = flag('--device') ?? 'pi';
  const device = resolveDevice(deviceSpec);
  const outDir = makeOutputDir(flag('--out') ?? 'results/bench-fit', '--out');
  const json = args.includes('--json');
  const haloFlag = flag('--halo') ?? 'both';
  if (haloFlag !== 'both' && haloFlag !== 'recompute') fail(`--halo must be both or recompute, got '${haloFlag}'`, 'usage');
  const cached = haloFlag === 'both';

  const started = performance.now();
  const rows: Array<{
    label: string;
    model: string;
    row: FitRow;
    searchS: number;
    frontSearchS: number;
    frontPoints: number;
    segmentsEvaluated: number;
    halo?: HaloRow;
    cacheSearchS?: number;
  }> = [];
  for (const [k, name] of models.entries()) {
    process.stderr.write(
      `[${k + 1}/${models.length}] ${name}: BTSearch order and fit sweep (groups ≤ ${space.maxDepth}, grids ≤ ${space.maxGrid}×${space.maxGrid})… `,
    );
    const model = loadModel(name);
    const t0 = performance.now();
    const result = fitModel(model, { limitBytes: 1, device, space });
    const searchS = (performance.now() - t0) / 1000;
    const row = fitRow(result);
    const label = zooEntry(name).title;
    rows.push({
      label,
      model: name,
      row,
      searchS,
      frontSearchS: result.searchMs / 1000,
      frontPoints: result.front.length,
      segmentsEvaluated: result.space.segmentsEvaluated,
    });
    process.stderr.write(
      `${searchS.toFixed(1)} s (front ${(result.searchMs / 1000).toFixed(1)} s, ${result.front.length} points): ` +
        `untiled ${formatBytes(row.baselinePeakBytes)}, least ${formatBytes(row.leastPeakBytes)} (${row.ratio.toFixed(2)}×, ${formatChange(row.leastPeakLatencyChangePct)})\n`,
    );
    if (!cached) continue;
    process.stderr.write(`[${k + 1}/${models.length}] ${name}: fit sweep with --halo cache… `);
    const t1 = performance.now();
    const withCache = fitModel(model, { limitBytes: 1, device, space: { ...space, halo: 'cache' } });
    const cacheSearchS = (performance.now() - t1) / 1000;
    const halo = haloRow(result, {
      ...withCache,
      front: withCache.front.map((e) => ({ ...e, cachedGroups: e.groups.filter((g) => g.halo === 'cache').length })),
    });
    Object.assign(rows[rows.length - 1]!, { halo, cacheSearchS });
    process.stderr.write(
      `${cacheSearchS.toFixed(1)} s, ${halo.points} points (${halo.cachedPoints} cache some group): least ${formatBytes(halo.cacheLeastPeakBytes)} ` +
        `(${formatChange(halo.cacheLeastPeakLatencyChangePct)})\n`,
    );
  }
  const totalS = (performance.now() - started) / 1000;
  const report = {
    device: device.name,
    space,
    halo: haloFlag,
    fractions: FRACTIONS.map((d) => `1/${d}`),
    totalS,
    rows: rows.map(({ row, ...rest }) => ({ ...rest, ...row })),
  };
  writeFileSync(join(outDir, 'fit-bench.json'), `${JSON.stringify(report, null, 2)}\n`);
  process.stderr.write(`total ${totalS.toFixed(1)} s; rows in ${join(outDir, 'fit-bench.json')}\n`);
  if (json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else {
    process.stdout.write(
      `Fit on ${device.name} (activations only; groups ≤ ${space.maxDepth} operators, grids ≤ ${space.maxGrid}×${space.maxGrid}); total ${totalS.toFixed(1)} s\n\n`,
    );
    process.stdout.write(markdownTable(rows));
    if (cached) {
      process.stdout.write(`\nHalos recomputed → cached (--halo cache), latency change over the untiled run\n\n`);
      process.stdout.write(haloTable(rows.map((r) => ({ label: r.label, halo: r.halo!, searchS: r.cacheSearchS! }))));
    }
  }
}

try {
  await main();
} catch (error) {
  if (!(error instanceof MemoriaNovaError)) throw error;
  process.stderr.write(`error: ${error.message}\n`);
  process.exitCode = 1;
}
