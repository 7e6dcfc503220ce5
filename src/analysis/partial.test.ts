import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoriaNovaError } from '../errors.ts';
import { GraphBuilder } from '../ir/builder.ts';
import { analyzeGraph } from './analyze.ts';
import { FOLD_BUDGET, FOLD_LIMIT } from './fold.ts';

/**
 * torch.onnx's repeat_kv: x[:, :, None].expand(b, kv, n_rep, s, d) with the target built from the shape as
 * Shape → Split → Concat, then expand's -1 handling Where(Equal(size, -1), ConstantOfShape(1), size).
 */
function repeatKv(size: (b: GraphBuilder, x: string) => string): GraphBuilder {
  const b = new GraphBuilder('repeat_kv', { opset: 14 });
  const x = b.input('x', 'float32', ['batch', 2, 'seq', 8]);
  const target = size(b, x);
  const ones = b.op('ConstantOfShape', [b.op('Shape', [target])], {
    value: { type: 'tensor', value: { name: '', dtype: 'int64', shape: [1], data: { kind: 'fill', value: 1 } } },
  });
  const minusOnes = b.op('Mul', [ones, b.int64('minus_one', [-1])]);
  const expandTo = b.op('Where', [b.op('Equal', [target, minusOnes]), ones, target]);
  const expanded = b.op('Expand', [b.op('Unsqueeze', [x, b.int64('axis2', [2])]), expandTo]);
  b.output(b.op('Reshape', [expanded, b.int64('merged', [0, 6, -1, 8])]));
  return b;
}

/** The shape vector [b, kv, 3, s, d] of x from Shape → Split → Concat. */
function splitTarget(b: GraphBuilder, x: string): string {
  const dims = b.node('Split', [b.op('Shape', [x]), b.int64('ones4', [1, 1, 1, 1])], { axis: 0 }, { outputs: 4 });
  return b.op('Concat', [dims[0]!, dims[1]!, b.int64('rep', [3]), dims[2]!, dims[3]!], { axis: 0 });
}

function dynamicShapeError(message: string) {
  return (error: unknown) => {
    assert.ok(error instanceof MemoriaNovaError);
    assert.equal(error.code, 'dynamic-shape');
    assert.equal(error.message, message);
    return true;
  };
}

describe('value propagation', () => {
  it("folds the Qwen2 exporter's repeat_kv chain (Shape → Split → Concat → Equal → Where → Expand) once the input is bound", () => {
    const model = analyzeGraph(repeatKv(splitTarget).build(), { bindings: { dims: { batch: 2, seq: 5 } } });
    assert.deepEqual(
      model.ops.map((op) => op.node.opType),
      ['Unsqueeze', 'Expand', 'Reshape'],
    );
    assert.deepEqual(model.tensors.get(model.ops[1]!.node.outputs[0]!)!.shape, [2, 2, 3, 5, 8]);
    assert.deepEqual(model.graph.outputs[0]!.shape, [2, 6, 5, 8]);
  });

  it('keeps the known elements of a shape vector with a run-time element, and Expand takes the rest from its input', () => {
    // [b, kv, 3, n, d] where n is a number the graph receives at run time: Expand still knows n = seq from x.
    const model = analyzeGraph(
      repeatKv((b, x) => {
        const dims = b.node('Split', [b.op('Shape', [x]), b.int64('ones4', [1, 1, 1, 1])], { axis: 0 }, { outputs: 4 });
        const n = b.input('n', 'int64', [1]);
        return b.op('Concat', [dims[0]!, dims[1]!, b.int64('rep', [3]), n, dims[3]!], { axis: 0 });
      }).build(),
      { bindings: { dims: { batch: 2, seq: 5 } } },
    );
    assert.deepEqual(model.graph.outputs[0]!.shape, [2, 6, 5, 8]);
    // The Concat, Equal and Where of the target now run at run time; Shape, Split and ConstantOfShape folded.
    assert.deepEqual(
      model.ops.map((op) => op.node.opType),
      ['Concat', 'Equal', 'Where', 'Unsqueeze', 'Expand', 'Reshape'],
    );
  });

  it('gives Reshape the one run-time element of its target from the element count, and folds a Gather of the known ones', () => {
    const b = new GraphBuilder('reshape', { opset: 14 });
    const x = b.input('x', 'float32', [2, 3, 4]);
    const n = b.input('n', 'int64', [1]);
    const target = b.op('Concat', [b.op('Shape', [x], { end: 2 }), n], { axis: 0 });
    const reshaped = b.op('Reshape', [x, target]);
    const first = b.op('Gather', [target, b.int64('zero', [0])], { axis: 0 });
    b.output(b.op('Expand', [reshaped, b.op('Concat', [first, b.int64('tail', [1, 1])], { axis: 0 })]));
    const model = analyzeGraph(b.build());
    assert.deepEqual(model.tensors.get(reshaped)!.shape, [2, 3, 4]);
    assert.deepEqual(
      model.ops.map((op) => op.node.opType),
      ['Concat', 'Reshape', 'Expand'],
    );
    assert.deepEqual(model.graph.outputs[0]!.shape, [2, 3, 4]);
  });

  it('names the run-time elements when they decide the shape', () => {
    const b = new GraphBuilder('reshape', { opset: 14 });
    const x = b.input('x', 'float32', [2, 3, 4]);
    const target = b.op('Concat', [b.int64('two', [2]), b.input('n', 'int64', [2])], { axis: 0 }, 'target');
    b.output(b.op('Reshape', [x, target], {}, 'view'));
    assert.throws(
      () => analyzeGraph(b.build()),
      dynamicShapeError(
        "cannot infer the output shape of Reshape node 'view': elements 1, 2 of input 1 'target_out' are computed at run time",
      ),
    );
    const c = new GraphBuilder('expand', { opset: 14 });
    const y = c.input('y', 'float32', [1, 4]);
    const to = c.op('Concat', [c.input('m', 'int64', [1]), c.int64('four', [4])], { axis: 0 }, 'to');
    c.output(c.op('Expand', [y, to], {}, 'wide'));
    assert.throws(
      () => analyzeGraph(c.build()),
      dynamicShapeError("cannot infer the output shape of Expand node 'wide': element 0 of input 1 'to_out' is computed at run time"),
    );
  });

  it(`stops folding after ${FOLD_BUDGET} computed elements with one warning`, () => {
    const b = new GraphBuilder('hostile', { opset: 14 });
    const x = b.input('x', 'int64', [FOLD_LIMIT]);
    const shape = b.int64('shape', [FOLD_LIMIT]);
    const nodes = FOLD_BUDGET / FOLD_LIMIT + 1;
    let sum = x;
    for (let i = 0; i < nodes; i++) sum = b.op('Add', [sum, b.op('ConstantOfShape', [shape])]);
    b.output(sum, 'int64');
    const model = analyzeGraph(b.build());
    assert.equal(model.ops.filter((op) => op.node.opType === 'ConstantOfShape').length, 1);
    assert.deepEqual(model.warnings, [
      `constant folding stopped at ${FOLD_BUDGET} computed elements; the remaining constant sub-graphs run at run time`,
    ]);
  });
});
