import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { MemoriaNovaError } from '../errors.ts';
import { GraphBuilder } from '../ir/builder.ts';
import type { Attribute, Graph, Weight } from '../ir/graph.ts';
import { weightBytes } from '../ir/weights.ts';
import { readModelBytes, readModelFile } from './read.ts';
import { writeModelBytes, writeModelFile } from './write.ts';

const dir = mkdtempSync(join(tmpdir(), 'memorianova-write-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A graph with every weight as its bytes and every float attribute as the float32 a file can hold. */
function normalized(graph: Graph): unknown {
  const weight = (w: Weight) => ({ name: w.name, dtype: w.dtype, shape: w.shape, bytes: Buffer.from(weightBytes(w)).toString('base64') });
  const attribute = (a: Attribute): unknown => {
    switch (a.type) {
      case 'float':
        return { type: a.type, value: Math.fround(a.value) };
      case 'floats':
        return { type: a.type, value: a.value.map(Math.fround) };
      case 'tensor':
        return { type: a.type, value: weight(a.value) };
      case 'tensors':
        return { type: a.type, value: a.value.map(weight) };
      default:
        return a;
    }
  };
  return {
    ...graph,
    initializers: [...graph.initializers.values()].map(weight),
    nodes: graph.nodes.map((n) => ({
      ...n,
      attributes: Object.fromEntries(Object.entries(n.attributes).map(([k, a]) => [k, attribute(a)])),
    })),
    valueInfo: [...graph.valueInfo.entries()],
  };
}

/**
 * x (float32[batch,1,4,4], x[i][j] = 4i + j) → Conv 3×3 of ones, pads 1 → Relu → MaxPool 2×2/2 → Flatten →
 * Gemm with W = [[1,0,0,0],[0,0,0,-1]], b = 0.5. By hand: the pooled maxima are the 3×3 sums centred on
 * (1,1), (1,2), (2,1), (2,2) = 45, 54, 81, 90, so y = [45 + 0.5, -90 + 0.5] = [45.5, -89.5].
 */
function smallCnn(): Graph {
  const b = new GraphBuilder('small_cnn', { seed: 3 });
  const x = b.input('x', 'float32', ['batch', 1, 4, 4]);
  const conv = b.op('Conv', [x, b.fill('kernel', [1, 1, 3, 3], 1)], { pads: [1, 1, 1, 1], kernel_shape: [3, 3] });
  const pooled = b.op('MaxPool', [b.op('Relu', [conv])], { kernel_shape: [2, 2], strides: [2, 2] });
  const flat = b.op('Flatten', [pooled], { axis: 1 });
  const y = b.op('Gemm', [flat, b.float32('fc', [1, 0, 0, 0, 0, 0, 0, -1], [2, 4]), b.fill('fc_bias', [2], 0.5)], {
    transB: 1,
    alpha: 1.0,
    beta: 1.0,
  });
  b.output(y, 'float32', ['batch', 2]);
  return b.build();
}

async function runCnn(path: string): Promise<number[]> {
  const session = await ort.InferenceSession.create(path);
  const x = new ort.Tensor(
    'float32',
    Float32Array.from({ length: 16 }, (_, i) => i),
    [1, 1, 4, 4],
  );
  const out = await session.run({ x });
  return [...(out[session.outputNames[0]!]!.data as Float32Array)];
}

describe('writeModelBytes / readModelBytes round trip', () => {
  it('gives back the graph a builder made: nodes, attributes, weights, dims, domains', () => {
    const b = new GraphBuilder('round_trip', { opset: 18, seed: 11 });
    const x = b.input('x', 'float32', ['batch', 8]);
    const ids = b.input('ids', 'int64', [1, 'seq']);
    const h = b.op('Gemm', [x, b.weight('w', [8, 8]), b.weight('bias', [8])], { alpha: 0.5, transB: 1 });
    const s = b.op('Slice', [h, b.int64('starts', [0]), b.int64('ends', [2]), b.int64('axes', [1])]);
    const n = b.op('LayerNormalization', [s, b.fill('gamma', [8], 1), b.fill('beta', [8], 0)], { epsilon: 1e-5, axis: -1 });
    const c = b.node(
      'Custom',
      [n, ids],
      { mode: 'fast', sizes: [1, 2, 3], scales: [0.25, 1.5], names: ['a', 'b'], limit: 2 ** 63, floor: -(2 ** 63) },
      { domain: 'com.example', outputs: 2 },
    );
    b.weight('half', [3, 5], { dtype: 'float16' });
    b.weight('int8s', [7], { dtype: 'int8', bound: 100 });
    b.output(c[0]!, 'float32', ['batch', 8]);
    b.output(c[1]!, 'int64');
    const graph = b.build();
    graph.opsetImports = { 'com.example': 3 };
    graph.valueInfo.set(h, { name: h, dtype: 'float32', shape: ['batch', 8] });
    const back = readModelBytes(writeModelBytes(graph), dir);
    // INT64_MAX/MIN ("to the end" in exporters' Slice attributes) come back as ±2^63, not wrapped.
    assert.deepEqual(normalized(back), normalized(graph));
  });

  it('writes external data to <file>.data at aligned offsets and reads it back', () => {
    const graph = smallCnn();
    const path = join(dir, 'external.onnx');
    writeModelFile(graph, path, { externalData: 'always' });
    const back = readModelFile(path);
    const offsets = [...back.initializers.values()].map((w) =>
      w.data.kind === 'external' ? [w.data.location, w.data.offset, w.data.length] : w.data.kind,
    );
    assert.deepEqual(offsets, [
      ['external.onnx.data', 0, 36],
      ['external.onnx.data', 4096, 32],
      ['external.onnx.data', 8192, 8],
    ]);
    assert.equal(statSync(`${path}.data`).size, 8192 + 8);
    assert.deepEqual(normalized(back), normalized(graph));
  });

  it("keeps weights inline with 'never' and under 'auto' for small models", () => {
    for (const externalData of ['never', 'auto'] as const) {
      const path = join(dir, `inline-${externalData}.onnx`);
      writeModelFile(smallCnn(), path, { externalData });
      assert.ok(!existsSync(`${path}.data`));
      assert.ok([...readModelFile(path).initializers.values()].every((w) => w.data.kind === 'inline'));
    }
  });

  it('rewrites a model over its own external data safely', () => {
    const path = join(dir, 'self.onnx');
    writeModelFile(smallCnn(), path, { externalData: 'always' });
    const graph = readModelFile(path);
    writeModelFile(graph, path, { externalData: 'always' });
    assert.deepEqual(normalized(readModelFile(path)), normalized(smallCnn()));
  });

  it('keeps weights under inlineBelowBytes inline even with external data', () => {
    const path = join(dir, 'mixed.onnx');
    writeModelFile(smallCnn(), path, { externalData: 'always', inlineBelowBytes: 16 });
    const kinds = [...readModelFile(path).initializers.values()].map((w) => `${w.name}:${w.data.kind}`);
    assert.deepEqual(kinds, ['kernel:external', 'fc:external', 'fc_bias:inline']);
  });

  it('reports an unwritable path as a clean error and leaves no temporary files', () => {
    assert.throws(
      () => writeModelFile(smallCnn(), join(dir, 'no-such-folder', 'm.onnx'), { externalData: 'always' }),
      (e: unknown) => e instanceof MemoriaNovaError && /^cannot write '.*m\.onnx': ENOENT/.test(e.message),
    );
    assert.ok(!readdirSync(dir).some((f) => f.includes('.tmp-')));
  });

  it('refuses weights whose bytes do not fit their shape', () => {
    const b = new GraphBuilder('bad');
    const x = b.input('x', 'float32', [2]);
    b.output(b.op('Add', [x, b.weight('w', [2], { data: { kind: 'inline', bytes: new Uint8Array(3) } })]));
    assert.throws(
      () => writeModelBytes(b.build()),
      (e: unknown) => e instanceof MemoriaNovaError && /weight 'w' has 3 bytes, expected 8/.test(e.message),
    );
  });
});

describe('onnxruntime-node runs written models', () => {
  it('computes the hand-computed output, inline and with external data', async () => {
    for (const externalData of ['never', 'always'] as const) {
      const path = join(dir, `cnn-${externalData}.onnx`);
      writeModelFile(smallCnn(), path, { externalData });
      assert.deepEqual(await runCnn(path), [45.5, -89.5]);
    }
  });
});

describe('libonnx-testdata round trip', () => {
  const root = '/usr/share/libonnx-testdata/data';
  it('writing then reading every importable model gives the same graph', { skip: !existsSync(root) }, async () => {
    let checked = 0;
    for (const suite of readdirSync(root)) {
      for (const test of readdirSync(join(root, suite))) {
        const file = join(root, suite, test, 'model.onnx');
        if (!existsSync(file)) continue;
        let graph: Graph;
        try {
          graph = readModelFile(file);
        } catch {
          continue;
        }
        assert.deepEqual(normalized(readModelBytes(writeModelBytes(graph), dir, test)), normalized(graph), test);
        checked++;
      }
    }
    assert.ok(checked >= 1000);
    // A model with sub-graphs (If) written back is still one onnxruntime accepts.
    const ifModel = join(root, 'node', 'test_if', 'model.onnx');
    if (existsSync(ifModel)) {
      const path = join(dir, 'if.onnx');
      writeModelFile(readModelFile(ifModel), path);
      const session = await ort.InferenceSession.create(path);
      assert.deepEqual(session.inputNames, ['cond']);
    }
  });
});
