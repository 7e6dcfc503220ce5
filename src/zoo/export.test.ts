import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { analyzeGraph } from '../analysis/analyze.ts';
import type { Graph, Model } from '../ir/graph.ts';
import { readModelFile } from '../onnx/read.ts';
import { exportZooModel } from './export.ts';
import { countParams, ZOO } from './index.ts';

const dir = mkdtempSync(join(tmpdir(), 'memorianova-zoo-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Transformers are exported with few layers and short sequences to keep the test fast; CNNs at full size. */
const TRANSFORMER_OPTIONS = { layers: 1, seqLen: 8, batch: 2 };

/** Deterministic feeds: images from a sine, token ids spread over the vocabulary's start, all tokens attended. */
function feeds(graph: Graph): Record<string, ort.Tensor> {
  const result: Record<string, ort.Tensor> = {};
  for (const input of graph.inputs) {
    const shape = input.shape as number[];
    const n = shape.reduce((a, b) => a * b, 1);
    if (input.dtype === 'int64') {
      const value = (i: number) => (input.name === 'attention_mask' ? 1 : input.name === 'token_type_ids' ? i % 2 : (i * 7919) % 30000);
      result[input.name] = new ort.Tensor('int64', BigInt64Array.from({ length: n }, (_, i) => BigInt(value(i))), shape);
    } else {
      result[input.name] = new ort.Tensor('float32', Float32Array.from({ length: n }, (_, i) => Math.sin(i)), shape);
    }
  }
  return result;
}

function totalFlops(model: Model): number {
  return model.ops.reduce((sum, op) => sum + op.cost.flops, 0);
}

function activationShapes(model: Model): Map<string, number[]> {
  return new Map([...model.tensors.values()].filter((t) => t.kind !== 'weight').map((t) => [t.name, t.shape]));
}

describe('zoo export', () => {
  for (const entry of ZOO) {
    it(`${entry.name}: exports, runs in onnxruntime with finite outputs, and imports to the same numbers`, async () => {
      const options = entry.family === 'transformer' ? TRANSFORMER_OPTIONS : {};
      const path = join(dir, `${entry.name}.onnx`);
      const built = entry.build(options);
      const written = exportZooModel(entry.name, path, options);
      assert.equal(written.params, countParams(built));

      const session = await ort.InferenceSession.create(path);
      const outputs = await session.run(feeds(built));
      assert.deepEqual(Object.keys(outputs), built.outputs.map((o) => o.name));
      for (const output of built.outputs) {
        const tensor = outputs[output.name]!;
        assert.deepEqual(tensor.dims, output.shape);
        assert.ok((tensor.data as Float32Array).every(Number.isFinite), `${output.name} has non-finite values`);
      }
      await session.release();

      const imported = readModelFile(path);
      assert.equal(countParams(imported), countParams(built));
      const builtModel = analyzeGraph(built);
      const importedModel = analyzeGraph(imported);
      assert.equal(totalFlops(importedModel), totalFlops(builtModel));
      assert.deepEqual(activationShapes(importedModel), activationShapes(builtModel));
      rmSync(path, { force: true });
    });
  }
});
