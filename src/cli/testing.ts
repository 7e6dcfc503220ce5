import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import type { Model } from '../ir/graph.ts';
import { loadModel } from '../model/load.ts';
import { writeModelFile } from '../onnx/write.ts';
import { writePlan } from '../plan/io.ts';
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

/** The small test CNN as an ONNX file in `dir` and a row-split proportional plan of it on homo2. */
export function smallCnnWithPlan(dir: string): { model: Model; modelPath: string; planPath: string } {
  const modelPath = join(dir, 'small-cnn.onnx');
  writeModelFile(smallCnn().graph, modelPath);
  const model = loadModel(modelPath);
  const planPath = join(dir, 'plan.json');
  writePlan(planPath, smallCnnRowPlan(model));
  return { model, modelPath, planPath };
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
