// npm run experiments [-- --out DIR] [--quick] [--only a,b,c,d] [--time-limit S] [--models m1,m2] [--progress]
// The experiments of docs/experiments.md: (a) four devices, (b) least memory, (c) device count, (d) bandwidth.
import { parseArgs } from 'node:util';
import { loadCluster } from '../src/cluster/load.ts';
import { logSweep } from './experiments/clusters.ts';
import { fourDevicesExperiment } from './experiments/four-devices.ts';
import { leastMemoryExperiment } from './experiments/least-memory.ts';
import { writeExperiment, type ExperimentOutput } from './experiments/report.ts';
import { ExperimentRunner } from './experiments/runner.ts';
import { bandwidthExperiment, deviceCountExperiment } from './experiments/sweeps.ts';
import { ZOO } from '../src/zoo/index.ts';

const { values: flags } = parseArgs({
  options: {
    out: { type: 'string', default: 'results' },
    quick: { type: 'boolean', default: false },
    only: { type: 'string', default: 'a,b,c,d' },
    'time-limit': { type: 'string' },
    models: { type: 'string' },
    progress: { type: 'boolean', default: false },
  },
});
const quick = flags.quick!;
const only = new Set(
  flags
    .only!.split(',')
    .map((s) => s.trim())
    .filter((s) => s !== ''),
);
const usageError = (message: string): never => {
  process.stderr.write(`error: ${message}\n`);
  process.exit(1);
};
for (const id of only) if (!['a', 'b', 'c', 'd'].includes(id)) usageError(`--only: unknown experiment '${id}' (a, b, c, d)`);
const timeLimitS = flags['time-limit'] === undefined ? (quick ? 2 : 10) : Number(flags['time-limit']);
if (!(timeLimitS > 0)) usageError(`--time-limit: must be a positive number of seconds, got '${flags['time-limit']}'`);

const models = flags.models
  ?.split(',')
  .map((s) => s.trim())
  .filter((s) => s !== '');
for (const m of models ?? [])
  if (!ZOO.some((e) => e.name === m)) usageError(`--models: unknown model '${m}' (npx memorianova zoo lists them)`);
if (models !== undefined && models.length === 0) usageError('--models: give at least one model');

/** What each experiment runs: the full settings, or a few-minute subset with --quick; --models replaces every model list. */
const SETTINGS_BY_MODE = quick
  ? {
      fourDevices: ['squeezenet1.0', 'mobilenetv3-large', 'resnet50'],
      leastMemory: { models: ['mobilenetv3-large'], ratio: 1.25, maxProbes: 6 },
      deviceCount: { models: ['mobilenetv3-large'], counts: [1, 2, 4, 8] },
      bandwidth: { models: ['mobilenetv3-large'], mbps: logSweep(1, 1000, 4) },
      orderTimeLimitMs: 5_000,
    }
  : {
      fourDevices: ZOO.map((e) => e.name),
      leastMemory: { models: ['resnet50', 'mobilenetv3-large', 'bert-base'], ratio: 1.1, maxProbes: 14 },
      deviceCount: { models: ['resnet50', 'bert-base'], counts: [1, 2, 3, 4, 5, 6, 7, 8] },
      bandwidth: { models: ['resnet50', 'mobilenetv3-large', 'bert-base'], mbps: logSweep(1, 1000, 7) },
      orderTimeLimitMs: 30_000,
    };
const SETTINGS =
  models === undefined
    ? SETTINGS_BY_MODE
    : {
        ...SETTINGS_BY_MODE,
        fourDevices: models,
        leastMemory: { ...SETTINGS_BY_MODE.leastMemory, models },
        deviceCount: { ...SETTINGS_BY_MODE.deviceCount, models },
        bandwidth: { ...SETTINGS_BY_MODE.bandwidth, models },
      };

const showProgress = flags.progress! || process.stderr.isTTY === true;
const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0)} s`;
const runner = new ExperimentRunner({
  timeLimitMs: timeLimitS * 1000,
  orderTimeLimitMs: SETTINGS.orderTimeLimitMs,
  seed: 1,
  onCase: (r) => {
    if (!showProgress) return;
    const ga = r.methods.find((m) => m.name === 'geneflow');
    process.stderr.write(
      `[${elapsed()}] ${r.model} on ${r.cluster}: best ${r.best}, geneflow ${ga?.latencyMs.toFixed(1)} ms, bound ${r.lowerBoundMs.toFixed(1)} ms (${(r.wallMs / 1000).toFixed(1)} s)\n`,
    );
  },
});

const experiments: Array<[string, () => Promise<ExperimentOutput>]> = [
  ['a', () => fourDevicesExperiment(runner, SETTINGS.fourDevices, [loadCluster('hetero4'), loadCluster('homo4')])],
  ['b', () => leastMemoryExperiment(runner, SETTINGS.leastMemory.models, loadCluster('hetero4'), SETTINGS.leastMemory)],
  ['c', () => deviceCountExperiment(runner, SETTINGS.deviceCount.models, SETTINGS.deviceCount.counts)],
  ['d', () => bandwidthExperiment(runner, SETTINGS.bandwidth.models, loadCluster('hetero4'), SETTINGS.bandwidth.mbps)],
];
process.stdout.write(`MemoriaNova experiments (${quick ? 'quick' : 'full'}; partitioning time limit ${timeLimitS} s per run; seed 1)\n`);
for (const [id, run] of experiments) {
  if (!only.has(id)) continue;
  const experimentStarted = performance.now();
  const output = await run();
  const paths = await writeExperiment(flags.out!, output);
  process.stdout.write(`\n## ${output.title}  [${((performance.now() - experimentStarted) / 1000).toFixed(0)} s]\n${output.text}\n`);
  if (showProgress) process.stderr.write(`[${elapsed()}] wrote ${paths.join(', ')}\n`);
}
process.stdout.write(`\ntotal ${elapsed()}\n`);
