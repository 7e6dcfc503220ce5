import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from '../ir/builder.ts';
import type { Graph, Weight } from '../ir/graph.ts';
import { MemoriaNovaError } from '../errors.ts';
import { analyzeGraph } from './analyze.ts';
import { encodeValues, weightValues } from './values.ts';

function int64Tensor(name: string, values: number[], shape: number[] = [values.length]): Weight {
  return { name, dtype: 'int64', shape, data: { kind: 'inline', bytes: encodeValues('int64', shape, values) } };
}

/** What PyTorch emits for `x.view(x.size(0), -1)`: Shape → Gather → Unsqueeze → Concat → Reshape, with Constant nodes. */
function exporterFlatten(): Graph {
  const b = new GraphBuilder('flatten', { opset: 13 });
  const x = b.input('x', 'float32', ['batch', 3, 4, 4]);
  const relu = b.op('Relu', [x]);
  const shape = b.op('Shape', [relu]);
  const index = b.op('Constant', [], { value: { type: 'tensor', value: int64Tensor('', [0], []) } });
  const batch = b.op('Gather', [shape, index], { axis: 0 });
  const axes = b.op('Constant', [], { value_ints: [0] });
  const batch1 = b.op('Unsqueeze', [batch, axes]);
  const minusOne = b.op('Constant', [], { value: { type: 'tensor', value: int64Tensor('', [-1]) } });
  const target = b.op('Concat', [batch1, minusOne], { axis: 0 });
  const flat = b.op('Reshape', [relu, target]);
  b.output(b.op('Gemm', [flat, b.weight('fc', [10, 48])], { transB: 1 }));
  return b.build();
}

test('the exporter shape sub-graph folds away and every activation becomes static', () => {
  const model = analyzeGraph(exporterFlatten(), { bindings: { dims: { batch: 2 } } });
  assert.deepEqual(
    model.ops.map((op) => op.node.opType),
    ['Relu', 'Reshape', 'Gemm'],
  );
  model.ops.forEach((op, i) => assert.equal(op.node, model.graph.nodes[i]));
  const reshape = model.graph.nodes[1]!;
  const target = model.graph.initializers.get(reshape.inputs[1]!)!;
  assert.deepEqual(weightValues(target, 10), [2, -1]);
  // only the folded target and the real weight remain: Gather's index, Unsqueeze's axes, etc. are gone
  assert.deepEqual([...model.graph.initializers.keys()].sort(), ['concat_out', 'fc']);
  assert.deepEqual(model.tensors.get(reshape.outputs[0]!)!.shape, [2, 48]);
  assert.deepEqual(model.graph.inputs[0]!.shape, [2, 3, 4, 4]);
  assert.deepEqual(
    model.graph.outputs.map((o) => o.shape),
    [[2, 10]],
  );
  assert.deepEqual(
    [...model.tensors.values()].map((t) => `${t.name}:${t.kind}`),
    ['x:input', 'fc:weight', 'concat_out:weight', 'relu_out:activation', 'reshape_out:activation', 'gemm_out:activation'],
  );
  assert.deepEqual(model.warnings, []);
});

test('an unbound dynamic dimension is an error naming input, dimension and axis', () => {
  assert.throws(
    () => analyzeGraph(exporterFlatten()),
    (error: unknown) => {
      assert.ok(error instanceof MemoriaNovaError);
      assert.equal(error.code, 'dynamic-shape');
      assert.equal(error.message, "input 'x' has dynamic dimension 'batch' (axis 0); bind it with --dim batch=N or --input x:1x3x4x4");
      return true;
    },
  );
});

test('a whole-input binding fixes the shape and must respect fixed dimensions', () => {
  const model = analyzeGraph(exporterFlatten(), { bindings: { inputs: { x: [5, 3, 4, 4] } } });
  assert.deepEqual(model.graph.outputs[0]!.shape, [5, 10]);
  assert.throws(
    () => analyzeGraph(exporterFlatten(), { bindings: { inputs: { x: [5, 3, 4, 5] } } }),
    /gives 5 for axis 3, but the model fixes it to 4/,
  );
  assert.throws(
    () => analyzeGraph(exporterFlatten(), { bindings: { inputs: { y: [1] } } }),
    /--input names 'y', which is not a graph input \(inputs: x\)/,
  );
  assert.deepEqual(analyzeGraph(exporterFlatten(), { bindings: { dims: { batch: 1, bacth: 2 } } }).warnings, [
    '--dim bacth=2 matches no dimension of the graph inputs; ignored',
  ]);
});

function withUnknownOp(declare: boolean): Graph {
  const b = new GraphBuilder('custom');
  const x = b.input('x', 'float32', [1, 8]);
  const y = b.op('FancyNorm', [x], {}, 'fancy_3');
  if (declare) b.build().valueInfo.set(y, { name: y, dtype: 'float32', shape: [1, 8] });
  b.output(b.op('Relu', [y]));
  return b.build();
}

test('an unknown operator without declared shapes is an error naming op type and node', () => {
  assert.throws(
    () => analyzeGraph(withUnknownOp(false)),
    (error: unknown) => {
      assert.ok(error instanceof MemoriaNovaError);
      assert.equal(error.code, 'unsupported-operator');
      assert.match(error.message, /^unsupported operator 'FancyNorm' \(node 'fancy_3'\)/);
      return true;
    },
  );
});

test('an unknown operator with value_info is kept as opaque with a warning', () => {
  const model = analyzeGraph(withUnknownOp(true));
  const op = model.ops[0]!;
  assert.equal(op.opaque, true);
  assert.deepEqual(op.cost, { flops: 0, bytesRead: 32, bytesWritten: 32, weightBytes: 0 });
  assert.deepEqual(model.tensors.get('fancy_3_out')!.shape, [1, 8]);
  assert.equal(model.warnings.length, 1);
  assert.match(model.warnings[0]!, /'FancyNorm' \(node 'fancy_3'\) is not supported: kept as an opaque operator/);
});

test('declared shapes that disagree with inference: inference wins, with a warning', () => {
  const b = new GraphBuilder('mismatch');
  const x = b.input('x', 'float32', [2, 3]);
  const y = b.op('Transpose', [x]);
  b.build().valueInfo.set(y, { name: y, dtype: 'float32', shape: [2, 3] });
  b.output(b.op('Relu', [y]));
  const model = analyzeGraph(b.build());
  assert.deepEqual(model.tensors.get(y)!.shape, [3, 2]);
  assert.deepEqual(model.warnings, [
    "tensor 'transpose_out' of Transpose node 'transpose': the file declares [2,3], inference gives [3,2]; using inference",
  ]);
});

test('a run-time shape input falls back to the declared output shape, with a warning', () => {
  const b = new GraphBuilder('runtime-shape');
  const x = b.input('x', 'float32', [2, 3]);
  const shape = b.input('target', 'int64', [2]);
  const y = b.op('Reshape', [x, shape]);
  b.output(y, 'float32', [3, 2]);
  const model = analyzeGraph(b.build());
  assert.deepEqual(model.tensors.get(y)!.shape, [3, 2]);
  assert.match(model.warnings[0]!, /using the output shapes the file declares/);
});

test('nodes run in topological order even when the file lists them out of order', () => {
  const b = new GraphBuilder('order');
  const x = b.input('x', 'float32', [4]);
  const a = b.op('Relu', [x]);
  const c = b.op('Neg', [a]);
  b.output(c);
  const graph = b.build();
  graph.nodes.reverse();
  const model = analyzeGraph(graph);
  assert.deepEqual(
    model.ops.map((op) => op.node.opType),
    ['Relu', 'Neg'],
  );
});

test('a foldable node producing a graph output stays an operator but its consumers see its value', () => {
  const b = new GraphBuilder('keep');
  const x = b.input('x', 'float32', [2, 5]);
  const shape = b.op('Shape', [x]);
  b.output(shape, 'int64');
  b.output(
    b.op('Reshape', [x, b.op('Concat', [b.int64('m1', [-1]), b.op('Slice', [shape, b.int64('s', [1]), b.int64('e', [2])])], { axis: 0 })]),
  );
  const model = analyzeGraph(b.build());
  assert.deepEqual(
    model.ops.map((op) => op.node.opType),
    ['Shape', 'Reshape'],
  );
  assert.deepEqual(
    model.graph.outputs.map((o) => o.shape),
    [[2], [2, 5]],
  );
});

test('per-operator costs: bytes read include weights, weight bytes count initializer inputs', () => {
  const b = new GraphBuilder('costs');
  const x = b.input('x', 'float32', [1, 4]);
  const y = b.op('Add', [x, b.weight('bias', [4])]);
  b.output(b.op('Mul', [y, y]));
  const model = analyzeGraph(b.build());
  assert.deepEqual(model.ops[0]!.cost, { flops: 4, bytesRead: 32, bytesWritten: 16, weightBytes: 16 });
  // a tensor read twice by one operator is read once
  assert.deepEqual(model.ops[1]!.cost, { flops: 4, bytesRead: 16, bytesWritten: 16, weightBytes: 0 });
});

test('Range, ConstantOfShape and Where fold on constants', () => {
  const b = new GraphBuilder('fold');
  const x = b.input('x', 'float32', [4, 4]);
  const scalar = (name: string, v: number) =>
    b.weight(name, [], { dtype: 'int64', data: { kind: 'inline', bytes: encodeValues('int64', [], [v]) } });
  const range = b.op('Range', [scalar('start', 0), scalar('limit', 10), scalar('delta', 3)]);
  const count = b.op('Shape', [range]);
  const zeros = b.op('ConstantOfShape', [count], { value: { type: 'tensor', value: int64Tensor('', [4], [1]) } });
  const picked = b.op('Where', [b.op('Equal', [range, scalar('three', 3)]), zeros, range]);
  const four = b.op('Slice', [picked, b.int64('s0', [1]), b.int64('e0', [2])]);
  b.output(b.op('Reshape', [x, b.op('Concat', [b.int64('m1', [-1]), four], { axis: 0 })]));
  const model = analyzeGraph(b.build());
  assert.deepEqual(
    model.ops.map((op) => op.node.opType),
    ['Reshape'],
  );
  // range = [0,3,6,9] → where(range == 3, 4, range) = [0,4,6,9] → slice [1:2] = [4] → concat [-1, 4]
  const folded = model.graph.initializers.get(model.graph.nodes[0]!.inputs[1]!)!;
  assert.deepEqual(weightValues(folded, 10), [-1, 4]);
  assert.deepEqual(model.graph.outputs[0]!.shape, [4, 4]);
});

test('a PyTorch dynamic-axes embedding + head split folds to static shapes under --dim bindings', () => {
  const b = new GraphBuilder('dynamic-embedding', { opset: 17 });
  const ids = b.input('input_ids', 'int64', ['batch', 'sequence']);
  const scalar = (name: string, v: number) =>
    b.weight(name, [], { dtype: 'int64', data: { kind: 'inline', bytes: encodeValues('int64', [], [v]) } });
  const shape = b.op('Shape', [ids]);
  const batch = b.op('Gather', [shape, scalar('i0', 0)], { axis: 0 });
  const seq = b.op('Gather', [shape, scalar('i1', 1)], { axis: 0 });
  const positions = b.op('Range', [scalar('zero', 0), seq, scalar('one', 1)]);
  const positionIds = b.op('Expand', [b.op('Unsqueeze', [positions, b.int64('ax0', [0])]), b.op('Shape', [ids])]);
  const tokens = b.op('Gather', [b.weight('wte', [100, 16]), ids]);
  const placed = b.op('Gather', [b.weight('wpe', [32, 16]), positionIds]);
  const hidden = b.op('Add', [tokens, placed]);
  const unsq = (t: string) => b.op('Unsqueeze', [t, b.int64('ax', [0])]);
  const target = b.op('Concat', [unsq(batch), unsq(seq), b.int64('heads', [4, 4])], { axis: 0 });
  b.output(b.op('Reshape', [hidden, target]));
  const model = analyzeGraph(b.build(), { bindings: { dims: { batch: 2, sequence: 8 } } });
  assert.deepEqual(
    model.ops.map((op) => op.node.opType),
    ['Gather', 'Gather', 'Add', 'Reshape'],
  );
  const positionWeight = model.graph.initializers.get(model.graph.nodes[1]!.inputs[1]!)!;
  assert.deepEqual(positionWeight.shape, [2, 8]);
  assert.deepEqual(weightValues(positionWeight, 100), [0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(model.graph.outputs[0]!.shape, [2, 8, 4, 4]);
  for (const t of model.tensors.values())
    assert.ok(
      t.shape.every((d) => Number.isInteger(d)),
      t.name,
    );
});
