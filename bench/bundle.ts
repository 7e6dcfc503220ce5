/**
 * What a bundle saves (npm run bench:bundle [-- --model resnet50 --plan plan.json --rounds 3 --runs 5]): the plan is
 * deployed once, then run on local workers (one per device) alternately with the sub-models shipped at set-up
 * (`run --plan`) and from the bundle (`run --bundle`, workers started with `worker --bundle`), the order swapped
 * every round. Prints, per mode, the medians over rounds of the workers' start, the set-up, the first run, the time
 * to first result, the median latency and the largest worker's peak resident memory (docs/runtime.md, "Measurements").
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatTable } from '../src/cli/options.ts';
import { loadModel } from '../src/model/load.ts';
import { readPlan } from '../src/plan/io.ts';
import { writeBundle, DEFAULT_EXTERNAL_DATA_ABOVE_BYTES } from '../src/runtime/deploy.ts';
import { readBundleIndex } from '../src/runtime/manifest.ts';
import { median } from '../src/runtime/reference.ts';
import { runPlan, type RunReport } from '../src/runtime/run.ts';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const modelName = flag('model', 'resnet50');
const planPath = flag('plan', 'plan.json');
const rounds = Number(flag('rounds', '3'));
const runs = Number(flag('runs', '5'));
const log = (text: string) => process.stderr.write(`${text}\n`);

const model = loadModel(modelName);
const plan = readPlan(planPath, model);
const devices = plan.cluster.devices.length;
const dir = mkdtempSync(join(tmpdir(), 'memorianova-bench-bundle-'));
try {
  const started = performance.now();
  const deployed = writeBundle(model, plan, dir, { externalDataAboveBytes: DEFAULT_EXTERNAL_DATA_ABOVE_BYTES });
  const deployMs = performance.now() - started;
  const bytes = deployed.devices.reduce((n, d) => n + d.bytes, 0);
  const steps = deployed.devices.reduce((n, d) => n + d.steps, 0);
  log(`deployed ${steps} sub-models (${(bytes / 1e6).toFixed(1)} MB) in ${(deployMs / 1000).toFixed(1)} s`);
  const bundle = { dir, index: readBundleIndex(dir) };
  const reports: Record<'shipped' | 'bundle', RunReport[]> = { shipped: [], bundle: [] };
  for (let r = 0; r < rounds; r++) {
    const order: Array<'shipped' | 'bundle'> = r % 2 === 0 ? ['shipped', 'bundle'] : ['bundle', 'shipped'];
    for (const mode of order) {
      const report = await runPlan(model, plan, { local: devices, runs, warmup: 1, ...(mode === 'bundle' ? { bundle } : {}) });
      if (report.maxAbsError > 1e-4) throw new Error(`${mode}: output differs from the whole model by ${report.maxAbsError}`);
      reports[mode].push(report);
      log(
        `round ${r + 1}/${rounds} ${mode}: start ${report.startMs!.toFixed(0)} ms, set-up ${report.setupMs.toFixed(0)} ms, first result ${report.firstResultMs.toFixed(0)} ms, median ${report.measuredMs.toFixed(1)} ms`,
      );
    }
  }
  const ms = (values: number[]) => median(values).toFixed(1);
  process.stdout.write(
    `${modelName}, plan '${plan.method}' on ${plan.cluster.name} (${devices} local workers, ${steps} sub-models, ${(bytes / 1e6).toFixed(1)} MB of bundle), ` +
      `medians over ${rounds} rounds of ${runs} runs after a warm-up\n\n` +
      formatTable(
        [
          'mode',
          'workers start ms',
          'set-up ms',
          'first run ms',
          'time to first result ms',
          'median latency ms',
          'peak RSS MB',
          'max abs error',
        ],
        (['shipped', 'bundle'] as const).map((mode) => {
          const rs = reports[mode];
          return [
            mode,
            ms(rs.map((r) => r.startMs!)),
            ms(rs.map((r) => r.setupMs)),
            ms(rs.map((r) => r.firstResultMs - r.startMs! - r.setupMs)),
            ms(rs.map((r) => r.firstResultMs)),
            ms(rs.map((r) => r.measuredMs)),
            (median(rs.map((r) => Math.max(...r.workers.map((w) => w.peakBytes)))) / 1e6).toFixed(0),
            Math.max(...rs.map((r) => r.maxAbsError)).toExponential(1),
          ];
        }),
      ) +
      `\n`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
