import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { analyzeGraph } from '../analysis/analyze.ts';
import { mulberry32 } from '../random.ts';
import { readModelFile } from './read.ts';
import { writeModelFile } from './write.ts';

/** Real PyTorch 1.13 exports (src/onnx/testdata/make_pytorch.py) at opsets 11, 13, 14 and 17. */
const fixtures = fileURLToPath(new URL('./testdata/pytorch/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'memorianova-pytorch-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function run(path: string, shape: number[]): Promise<number[]> {
  const next = mulberry32(5);
  const size = shape.reduce((a, b) => a * b, 1);
  const session = await ort.InferenceSession.create(path);
  const out = await session.run({
    x: new ort.Tensor(
      'float32',
      Float32Array.from({ length: size }, () => next() * 2 - 1),
      shape,
    ),
  });
  return [...(out.y!.data as Float32Array)];
}

describe('PyTorch exports', () => {
  const files = readdirSync(fixtures)
    .filter((f) => f.endsWith('.onnx'))
    .sort();
  it('has both models at every opset', () => {
    assert.deepEqual(
      files,
      ['attention', 'cnn'].flatMap((m) => [11, 13, 14, 17].map((o) => `${m}-opset${o}.onnx`)),
    );
  });

  for (const file of files) {
    it(`${file}: imports with symbolic dims and its shape sub-graph, folds to static shapes, and survives a rewrite`, async () => {
      const graph = readModelFile(join(fixtures, file));
      assert.equal(graph.opset, Number(/opset(\d+)/.exec(file)![1]));
      assert.equal(graph.producer, 'pytorch');
      const attention = file.startsWith('attention');
      assert.deepEqual(graph.inputs[0]!.shape, attention ? ['batch', 'seq', 16] : ['batch', 3, 16, 16]);
      for (const op of ['Shape', 'Gather', 'Unsqueeze', 'Concat', 'Reshape'])
        assert.ok(
          graph.nodes.some((n) => n.opType === op),
          `${file} has ${op}`,
        );

      const model = analyzeGraph(graph, { bindings: { dims: { batch: 1, seq: 7 } } });
      assert.deepEqual(model.tensors.get('y')!.shape, attention ? [1, 7, 16] : [1, 4]);
      assert.ok([...model.tensors.values()].every((t) => t.shape.every(Number.isInteger)));
      assert.ok(!model.ops.some((op) => op.node.opType === 'Shape'), 'the shape sub-graph is folded');

      const rewritten = join(dir, file);
      writeModelFile(graph, rewritten);
      const shape = attention ? [2, 7, 16] : [3, 3, 16, 16];
      assert.deepEqual(await run(rewritten, shape), await run(join(fixtures, file), shape));
    });
  }
});
