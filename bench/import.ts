// npm run bench:import [-- model ...]: time to build + analyse each built-in model, and to import + analyse the ONNX
// file it exports to (readModelFile + analyzeGraph: constant folding, shape and cost inference). Median of 3 runs.
// Export time is not counted; weights above 1.5 GB go to external data, as `memorianova export` writes them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeGraph } from '../src/analysis/analyze.ts';
import { formatTable } from '../src/cli/options.ts';
import { readModelFile } from '../src/onnx/read.ts';
import { exportZooModel } from '../src/zoo/export.ts';
import { ZOO, zooEntry } from '../src/zoo/index.ts';

const RUNS = 3;

function medianMs(action: () => unknown): number {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    action();
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[Math.floor(RUNS / 2)]!;
}

const names = process.argv.slice(2);
const entries = names.length === 0 ? ZOO : names.map(zooEntry);
const dir = mkdtempSync(join(tmpdir(), 'memorianova-bench-import-'));
const rows: (string | number)[][] = [];
try {
  for (const entry of entries) {
    const builtMs = medianMs(() => analyzeGraph(entry.build(), { name: entry.name }));
    const path = join(dir, `${entry.name}.onnx`);
    const written = exportZooModel(entry.name, path);
    const importMs = medianMs(() => readModelFile(path));
    const importAnalyzeMs = medianMs(() => analyzeGraph(readModelFile(path), { name: entry.name }));
    const model = analyzeGraph(entry.build(), { name: entry.name });
    rows.push([
      entry.name,
      model.ops.length,
      (written.bytes / 1e6).toFixed(1),
      written.dataBytes === undefined ? '-' : (written.dataBytes / 1e6).toFixed(0),
      builtMs.toFixed(0),
      importMs.toFixed(0),
      importAnalyzeMs.toFixed(0),
    ]);
    process.stderr.write(`${entry.name} done\n`);
    rmSync(path, { force: true });
    rmSync(`${path}.data`, { force: true });
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`Import + inference time, median of ${RUNS} runs (ms)`);
console.log(
  formatTable(['model', 'operators', '.onnx MB', 'external MB', 'built-in: build + analyse', 'file: read', 'file: read + analyse'], rows),
);
