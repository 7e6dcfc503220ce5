import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../ir/builder.ts';
import type { Graph } from '../ir/graph.ts';
import { writeModelBytes } from '../onnx/write.ts';
import { analyzeGraph } from './analyze.ts';
import { encodeValues } from './values.ts';

async function run(graph: Graph, feeds: Record<string, ort.Tensor>): Promise<Record<string, { dims: readonly number[]; data: number[] }>> {
  const session = await ort.InferenceSession.create(writeModelBytes(graph), { graphOptimizationLevel: 'disabled' });
  try {
    const results = await session.run(feeds);
    return Object.fromEntries(
      Object.entries(results).map(([name, t]) => [name, { dims: t.dims, data: Array.from(t.data as Float32Array, Number) }]),
    );
  } finally {
    await session.release();
  }
}

/**
 * Shape arithmetic as exporters write it, through most operators folding evaluates: the folded graph must give
 * onnxruntime the same outputs as the original.
 */
function shapeArithmetic(): Graph {
  const b = new GraphBuilder('shape-arithmetic', { opset: 17 });
  const x = b.input('x', 'float32', ['batch', 6, 'width']);
  const scalar = (name: string, v: number) =>
    b.weight(name, [], { dtype: 'int64', data: { kind: 'inline', bytes: encodeValues('int64', [], [v]) } });
  const shape = b.op('Shape', [x]);
  const batch = b.op('Gather', [shape, scalar('i0', 0)]);
  const width = b.op('Gather', [shape, scalar('i2', 2)]);
  const channels = b.op('Squeeze', [b.op('Slice', [shape, b.int64('s1', [1]), b.int64('e1', [2])]), b.int64('ax0', [0])]);
  const half = b.op('Div', [channels, scalar('two', 2)]);
  const total = b.op('ReduceProd', [shape], { keepdims: 0 });
  const asFloat = b.op('Cast', [total], { to: 1 });
  const back = b.op('Cast', [b.op('Mul', [asFloat, b.float32('one', [1], [])])], { to: 7 });
  const rest = b.op('Div', [back, b.op('Mul', [batch, half])]);
  const unsq = (t: string) => b.op('Unsqueeze', [t, b.int64('u', [0])]);
  const target = b.op('Concat', [unsq(batch), unsq(half), unsq(rest)], { axis: 0 });
  const reshaped = b.op('Reshape', [b.op('Relu', [x]), target]);
  // a mask row built with Range / Equal / Where / ConstantOfShape, broadcast with Expand and Tile
  const positions = b.op('Range', [scalar('zero', 0), width, scalar('one_i', 1)]);
  const isOdd = b.op('Equal', [b.op('Mod', [positions, scalar('two_m', 2)]), scalar('one_e', 1)]);
  const ones = b.op('ConstantOfShape', [unsq(width)], {
    value: {
      type: 'tensor',
      value: { name: '', dtype: 'float32', shape: [1], data: { kind: 'inline', bytes: encodeValues('float32', [1], [1]) } },
    },
  });
  const mask = b.op('Where', [isOdd, ones, b.op('Neg', [ones])]);
  const tiled = b.op('Tile', [unsq(mask), b.op('Concat', [b.int64('t0', [6]), b.int64('t1', [1])], { axis: 0 })]);
  const expanded = b.op('Expand', [tiled, b.op('Concat', [unsq(batch), b.int64('k6', [6]), unsq(width)], { axis: 0 })]);
  const flatMask = b.op('Reshape', [expanded, b.op('Shape', [reshaped])]);
  b.output(b.op('Mul', [reshaped, flatMask]));
  return b.build();
}

test('the folded graph runs in onnxruntime with the same outputs as the original', async () => {
  const graph = shapeArithmetic();
  const dims = [2, 6, 4];
  const data = Float32Array.from({ length: 48 }, (_, i) => (i % 7) - 3);
  const feeds = { x: new ort.Tensor('float32', data, dims) };
  const original = await run(graph, feeds);
  const model = analyzeGraph(graph, { bindings: { dims: { batch: 2, width: 4 } } });
  // the whole mask path is constant (48 elements) and folds, the final Reshape included
  assert.deepEqual(
    model.ops.map((op) => op.node.opType),
    ['Relu', 'Reshape', 'Mul'],
  );
  const folded = await run(model.graph, feeds);
  assert.deepEqual(folded, original);
  const output = model.graph.outputs[0]!;
  assert.deepEqual(original[output.name]!.dims, [2, 3, 8]);
  assert.deepEqual(output.shape, [2, 3, 8]);
});
