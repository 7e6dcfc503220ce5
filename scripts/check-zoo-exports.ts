// Exports every built-in model at its full published size (transformers: all layers, sequence 128), runs each
// file once in onnxruntime-node and re-imports it. The unit tests do the same on cut-down transformers; this
// covers the full files, Qwen2-0.5B's 2 GB of external data included.
// Usage: npm run bench:zoo-export [-- model ...]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readModelFile } from '../src/onnx/read.ts';
import { exportZooModel } from '../src/zoo/export.ts';
import { ZOO, zooEntry } from '../src/zoo/index.ts';
import { compareImport, runExported } from '../src/zoo/verify.ts';

const names = process.argv.slice(2);
const entries = names.length === 0 ? ZOO : names.map(zooEntry);
const dir = mkdtempSync(join(tmpdir(), 'memorianova-zoo-export-'));
let failures = 0;
const header = ['model', 'file MB', 'export s', 'ort load s', 'ort run s', 'finite', 'import = built'];
console.log(header.join('\t'));
try {
  for (const entry of entries) {
    const path = join(dir, `${entry.name}.onnx`);
    const start = performance.now();
    const written = exportZooModel(entry.name, path);
    const exportSeconds = (performance.now() - start) / 1000;
    const built = entry.build();
    const run = await runExported(path, built);
    const comparison = compareImport(built, readModelFile(path));
    const finite = run.outputs.every((o) => o.finite);
    const same = JSON.stringify(comparison.built) === JSON.stringify(comparison.imported) && comparison.shapeMismatches.length === 0;
    if (!finite || !same) failures++;
    const megabytes = (written.bytes + (written.dataBytes ?? 0)) / 1e6;
    console.log(
      [
        entry.name,
        megabytes.toFixed(1),
        exportSeconds.toFixed(1),
        (run.loadMs / 1000).toFixed(2),
        (run.runMs / 1000).toFixed(2),
        finite,
        same,
      ].join('\t'),
    );
    rmSync(path, { force: true });
    rmSync(`${path}.data`, { force: true });
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
if (failures > 0) {
  console.error(`${failures} model(s) failed`);
  process.exit(1);
}
