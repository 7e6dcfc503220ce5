import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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
