import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { analyzeGraph, type ShapeBindings } from '../analysis/analyze.ts';
import { bindDim } from '../analysis/bindings.ts';
import type { Graph } from '../ir/graph.ts';
import { mulberry32 } from '../random.ts';
import { readModelFile } from './read.ts';
import { writeModelBytes } from './write.ts';

/** torch.onnx exports of structurally real models with the exporter's value_info (testdata/make_corpus.py). */
const corpus = fileURLToPath(new URL('./testdata/corpus/', import.meta.url));
const MODELS = ['bert', 'gpt2', 'inception', 'qwen2', 'resnet', 'shufflenet'];
const TRANSFORMERS = new Set(['bert', 'gpt2', 'qwen2']);

/** Dynamic files are bound away from the export's example sizes (batch 2, 8 tokens, 16×16 or 12×12 images). */
function bindingsFor(file: string): ShapeBindings {
  if (file.includes('-static-')) return {};
  return TRANSFORMERS.has(file.split('-')[0]!) ? { dims: { batch: 3, seq: 5 } } : { dims: { batch: 3, height: 10, width: 10 } };
}

function feeds(graph: Graph, shapes: Map<string, number[]>): Record<string, ort.Tensor> {
  const next = mulberry32(7);
  return Object.fromEntries(
    graph.inputs.map((input) => {
      const shape = shapes.get(input.name)!;
      const size = shape.reduce((a, b) => a * b, 1);
      if (input.dtype === 'int64') {
        // Token ids below the vocabulary (64); an attention mask of 1s with the last token masked out.
        const mask = input.name === 'attention_mask';
        const values = Array.from({ length: size }, (_, i) =>
          mask ? (i % shape[1]! === shape[1]! - 1 ? 0n : 1n) : BigInt(Math.floor(next() * 64)),
        );
        return [input.name, new ort.Tensor('int64', BigInt64Array.from(values), shape)];
      }
      return [
        input.name,
        new ort.Tensor(
          'float32',
          Float32Array.from({ length: size }, () => next() * 2 - 1),
          shape,
        ),
      ];
    }),
  );
}

async function run(bytes: Uint8Array | string, inputs: Record<string, ort.Tensor>): Promise<ort.InferenceSession.OnnxValueMapType> {
  const session = await ort.InferenceSession.create(bytes as Uint8Array);
  try {
    return await session.run(inputs);
  } finally {
    await session.release();
  }
}

describe('real-exporter corpus', () => {
  const files = readdirSync(corpus)
    .filter((f) => f.endsWith('.onnx'))
    .sort();
  it('has every model static and dynamic at opset 14, the transformers also at 13 and 17', () => {
    const expected = MODELS.flatMap((m) => [
      `${m}-dynamic-opset14.onnx`,
      `${m}-static-opset14.onnx`,
      ...(TRANSFORMERS.has(m) ? [`${m}-dynamic-opset13.onnx`, `${m}-dynamic-opset17.onnx`] : []),
    ]);
    assert.deepEqual(files, expected.sort());
  });

  for (const file of files) {
    it(`${file}: imports, every activation has the exporter's shape, and the folded graph runs like the file`, async () => {
      const path = join(corpus, file);
      const graph = readModelFile(path);
      assert.equal(graph.producer, 'pytorch');
      assert.equal(graph.opset, Number(/opset(\d+)/.exec(file)![1]));
      const bindings = bindingsFor(file);
      const model = analyzeGraph(graph, { bindings });
      assert.deepEqual(
        model.warnings.filter((w) => !w.startsWith('--dim')),
        [],
      );
      assert.ok(!model.ops.some((op) => op.node.opType === 'Shape'), 'the shape sub-graphs fold');

      // The exporter's value_info (ONNX shape inference with data propagation): every dimension it knows.
      const activations = [...model.tensors.values()].filter((t) => t.kind === 'activation');
      const declared = new Map([...graph.valueInfo, ...graph.outputs.map((o) => [o.name, o] as const)]);
      for (const tensor of activations) {
        const info = declared.get(tensor.name);
        assert.ok(info !== undefined, `${tensor.name} has value_info`);
        if (info.shape === undefined) continue;
        assert.equal(info.shape.length, tensor.shape.length, tensor.name);
        info.shape.forEach((d, axis) => {
          const bound = bindDim(d, bindings);
          if (bound !== undefined) assert.equal(tensor.shape[axis], bound, `${tensor.name} axis ${axis}`);
        });
      }

      // onnxruntime on the file, every activation made an output: their real shapes, and the outputs.
      const inputs = feeds(graph, new Map(model.graph.inputs.map((i) => [i.name, i.shape as number[]])));
      const probed: Graph = {
        ...graph,
        outputs: [
          ...graph.outputs,
          ...activations.filter((t) => !graph.outputs.some((o) => o.name === t.name)).map((t) => ({ name: t.name, dtype: t.dtype })),
        ],
      };
      const reference = await run(writeModelBytes(probed), inputs);
      for (const tensor of activations) assert.deepEqual([...reference[tensor.name]!.dims], tensor.shape, tensor.name);

      const folded = await run(writeModelBytes(model.graph), inputs);
      for (const output of graph.outputs) {
        const want = reference[output.name]!.data as Float32Array;
        const got = folded[output.name]!.data as Float32Array;
        assert.equal(got.length, want.length);
        want.forEach((w, i) =>
          assert.ok(Math.abs(got[i]! - w) <= 1e-5 * Math.max(1, Math.abs(w)), `${output.name}[${i}]: ${got[i]} vs ${w}`),
        );
      }
    });
  }
});
