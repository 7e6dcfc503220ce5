import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readModelFile } from '../onnx/read.ts';
import { exportZooModel } from './export.ts';
import { countParams, ZOO, zooEntry } from './index.ts';
import { compareImport, runExported } from './verify.ts';

const dir = mkdtempSync(join(tmpdir(), 'memorianova-zoo-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Transformers are exported with one layer and short sequences to keep the test fast; CNNs at full size. */
const TRANSFORMER_OPTIONS = { layers: 1, seqLen: 8, batch: 2 };

describe('zoo export', () => {
  for (const entry of ZOO) {
    it(`${entry.name}: exports, runs in onnxruntime with finite outputs, and imports to the same numbers`, async () => {
      const options = entry.family === 'transformer' ? TRANSFORMER_OPTIONS : {};
      const path = join(dir, `${entry.name}.onnx`);
      const built = entry.build(options);
      const written = exportZooModel(entry.name, path, options);
      assert.equal(written.params, countParams(built));

      const run = await runExported(path, built);
      assert.deepEqual(
        run.outputs.map((o) => [o.name, o.dims]),
        built.outputs.map((o) => [o.name, o.shape]),
      );
      for (const output of run.outputs) assert.ok(output.finite, `${output.name} has non-finite values`);

      const comparison = compareImport(built, readModelFile(path));
      assert.deepEqual(comparison.imported, comparison.built);
      assert.equal(comparison.built.params, countParams(built));
      assert.deepEqual(comparison.shapeMismatches, []);
      rmSync(path, { force: true });
    });
  }

  it('with external data, keeps small constants inline so onnxruntime can run the file', async () => {
    const path = join(dir, 'gpt2-external.onnx');
    const options = { layers: 1, seqLen: 4 };
    const written = exportZooModel('gpt2', path, { ...options, externalData: true });
    assert.equal(written.dataPath, `${path}.data`);
    const imported = readModelFile(path);
    const inline = [...imported.initializers.values()].filter((w) => w.data.kind === 'inline').map((w) => w.name);
    assert.ok(inline.includes('const_1_4_12_64'), 'the Reshape shape is inline');
    assert.equal(imported.initializers.get('wte.weight')!.data.kind, 'external');
    const run = await runExported(path, zooEntry('gpt2').build(options));
    assert.ok(run.outputs.every((o) => o.finite));
  });
});
