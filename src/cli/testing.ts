import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import type { Model } from '../ir/graph.ts';
import { loadModel } from '../model/load.ts';
import { writeModelFile } from '../onnx/write.ts';
import { writePlan } from '../plan/io.ts';
import type { Plan } from '../plan/types.ts';
import { smallCnn, smallCnnRowPlan } from '../runtime/testing.ts';

/** Runs the command line as a user would (from the project root, as `npm test` does). */
export function cli(...args: string[]) {
  return spawnSync(process.execPath, ['bin/memorianova.js', ...args], { encoding: 'utf8' });
}

/** A fresh temporary folder, removed when the test file's tests are done. */
export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The small test CNN as an ONNX file in `dir` and a plan of it (default: row-split proportional on homo2). */
export function smallCnnWithPlan(
  dir: string,
  plan: (model: Model) => Plan = smallCnnRowPlan,
): { model: Model; modelPath: string; plan: Plan; planPath: string } {
  const modelPath = join(dir, 'small-cnn.onnx');
  writeModelFile(smallCnn().graph, modelPath);
  const model = loadModel(modelPath);
  const planPath = join(dir, 'plan.json');
  const made = plan(model);
  writePlan(planPath, made);
  return { model, modelPath, plan: made, planPath };
}

/**
 * Runs a plan file of the small CNN as a user would: `run --local N` of the file, then `deploy` and `run --bundle`
 * of its bundles; asserts both outputs equal the unsplit model's and returns the paths for further commands.
 */
export function runPlanFileAndBundles(dir: string, method: string, plan: (model: Model) => Plan): { modelPath: string; planPath: string } {
  const { modelPath, plan: made, planPath } = smallCnnWithPlan(dir, plan);
  const local = String(made.cluster.devices.length);
  const run = cli('run', modelPath, '--plan', planPath, '--local', local, '--runs', '1', '--warmup', '0', '--json');
  assert.equal(run.status, 0, run.stderr);
  const json = JSON.parse(run.stdout);
  assert.equal(json.method, method);
  assert.ok(json.maxAbsError <= 1e-4, `max abs error ${json.maxAbsError}`);
  const out = join(dir, 'bundle');
  const deploy = cli('deploy', modelPath, '--plan', planPath, '-o', out);
  assert.equal(deploy.status, 0, deploy.stderr);
  const bundled = cli('run', modelPath, '--bundle', out, '--local', local, '--runs', '1', '--json');
  assert.equal(bundled.status, 0, bundled.stderr);
  const fromBundles = JSON.parse(bundled.stdout).maxAbsError;
  assert.ok(fromBundles <= 1e-4, `from bundles: max abs error ${fromBundles}`);
  return { modelPath, planPath };
}

/**
 * `--device` for a Pi-class device without a memory bandwidth, in a cluster file written to `dir`: the latency model
 * charges cached halos no copies there (docs/fit.md, "Halos"), so the small CNN's cached groups are the fastest.
 */
export function copyFreeDevice(dir: string): string {
  const cluster = join(dir, 'copy-free.yaml');
  writeFileSync(
    cluster,
    'name: copy-free\ndevices:\n  - { name: pi, gflops: 24, memoryMB: 1024, uplinkMbps: 100, downlinkMbps: 100, latencyMs: 1 }\n',
  );
  return `${cluster}:pi`;
}
