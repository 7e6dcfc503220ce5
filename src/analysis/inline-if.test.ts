import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { MemoriaNovaError } from '../errors.ts';
import { ATTRIBUTE_TYPE } from '../onnx/proto.ts';
import { readModelBytes } from '../onnx/read.ts';
import { encodeModel, FLOAT, INT64, tensorValueInfo } from '../onnx/testing.ts';
import { writeModelBytes } from '../onnx/write.ts';
import { analyzeGraph } from './analyze.ts';

const BOOL = 9;
const typed = (name: string, elemType: number) => ({ name, type: { tensor_type: { elem_type: elemType } } });
const ints = (name: string, values: number[]) => ({ name, type: ATTRIBUTE_TYPE.INTS, ints: values });
const graphAttr = (name: string, g: object) => ({ name, type: ATTRIBUTE_TYPE.GRAPH, g });
const constant = (output: string, values: number[]) => ({ op_type: 'Constant', output: [output], attribute: [ints('value_ints', values)] });

function model(nodes: object[], extra: { initializer?: object[]; input?: object[]; output?: object[] } = {}): Uint8Array {
  return encodeModel({
    ir_version: 8,
    opset_import: [{ domain: '', version: 17 }],
    graph: {
      name: 'if-model',
      node: nodes,
      input: extra.input ?? [tensorValueInfo('x', FLOAT, ['batch', 4])],
      output: extra.output ?? [tensorValueInfo('y', FLOAT, [null, null])],
      initializer: extra.initializer ?? [],
    },
  });
}

/**
 * Shape → ReduceProd → Equal → If → Reshape: both branches define a tensor 'k', the
 * then branch reads the outer x, the else branch returns Identity(x) (onnxruntime refuses an outer tensor as a branch output).
 */
function shapeCondition(): Uint8Array {
  const thenBranch = {
    name: 'then',
    node: [constant('k', [1, -1]), { op_type: 'Relu', input: ['x'], output: ['r'], name: 'relu' }],
    output: [typed('k', INT64), typed('r', FLOAT)],
  };
  const elseBranch = {
    name: 'else',
    node: [constant('k', [-1, 2]), { op_type: 'Identity', input: ['x'], output: ['xi'] }],
    output: [typed('k', INT64), typed('xi', FLOAT)],
  };
  return model(
    [
      { op_type: 'Shape', input: ['x'], output: ['s'] },
      { op_type: 'ReduceProd', input: ['s'], output: ['n'], attribute: [{ name: 'keepdims', type: ATTRIBUTE_TYPE.INT, i: 0 }] },
      constant('eight', [8]),
      { op_type: 'Squeeze', input: ['eight'], output: ['eight0'] },
      { op_type: 'Equal', input: ['n', 'eight0'], output: ['c'] },
      {
        op_type: 'If',
        input: ['c'],
        output: ['target', 'data'],
        attribute: [graphAttr('then_branch', thenBranch), graphAttr('else_branch', elseBranch)],
      },
      { op_type: 'Reshape', input: ['data', 'target'], output: ['y'] },
    ],
    {},
  );
}

/** y = If(c) then If(c2) { -(x + w) } else { x + w } else x · v: a constant condition, a nested If, branch initializers. */
function constantCondition(c: boolean, c2: boolean): Uint8Array {
  const inner = {
    then: { name: 'inner_then', node: [{ op_type: 'Neg', input: ['a'], output: ['b'] }], output: [typed('b', FLOAT)] },
    else: { name: 'inner_else', node: [{ op_type: 'Identity', input: ['a'], output: ['ai'] }], output: [typed('ai', FLOAT)] },
  };
  const thenBranch = {
    name: 'then',
    node: [
      { op_type: 'Add', input: ['x', 'w'], output: ['a'] },
      {
        op_type: 'If',
        input: ['c2'],
        output: ['out'],
        attribute: [graphAttr('then_branch', inner.then), graphAttr('else_branch', inner.else)],
      },
    ],
    initializer: [{ name: 'w', data_type: FLOAT, dims: [4], float_data: [1, 2, 3, 4] }],
    output: [typed('out', FLOAT)],
  };
  const elseBranch = { name: 'else', node: [{ op_type: 'Mul', input: ['x', 'v'], output: ['out'] }], output: [typed('out', FLOAT)] };
  return model(
    [
      {
        op_type: 'Constant',
        output: ['c'],
        attribute: [{ name: 'value', type: ATTRIBUTE_TYPE.TENSOR, t: { data_type: BOOL, dims: [], int32_data: [c ? 1 : 0] } }],
      },
      {
        op_type: 'If',
        input: ['c'],
        output: ['y'],
        attribute: [graphAttr('then_branch', thenBranch), graphAttr('else_branch', elseBranch)],
      },
    ],
    {
      input: [tensorValueInfo('x', FLOAT, [2, 4])],
      output: [tensorValueInfo('y', FLOAT, [2, 4])],
      initializer: [
        { name: 'v', data_type: FLOAT, dims: [4], float_data: [-1, 0.5, 2, 3] },
        { name: 'c2', data_type: BOOL, dims: [], int32_data: [c2 ? 1 : 0] },
      ],
    },
  );
}

async function run(bytes: Uint8Array, x: Float32Array, dims: number[]): Promise<{ dims: readonly number[]; data: number[] }> {
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'disabled' });
  try {
    const out = (await session.run({ x: new ort.Tensor('float32', x, dims) }))['y']!;
    return { dims: out.dims, data: Array.from(out.data as Float32Array, Number) };
  } finally {
    await session.release();
  }
}

/** onnxruntime on the file and on our imported, analyzed and re-exported graph: the same output. */
async function sameAsFile(bytes: Uint8Array, dims: number[], batch?: number): Promise<{ ops: string[]; shape: number[] }> {
  const analyzed = analyzeGraph(readModelBytes(bytes, '.'), batch === undefined ? {} : { bindings: { dims: { batch } } });
  const x = Float32Array.from({ length: dims[0]! * dims[1]! }, (_, i) => (i % 5) - 2);
  const expected = await run(bytes, x, dims);
  assert.deepEqual(await run(writeModelBytes(analyzed.graph), x, dims), expected);
  return { ops: analyzed.ops.map((op) => op.node.opType), shape: analyzed.graph.outputs[0]!.shape as number[] };
}

/** If 'choose' on condition 'c': Relu of x when true, Neg of x when false, into 'y'. */
function chooseReluOrNeg() {
  return {
    op_type: 'If',
    input: ['c'],
    output: ['y'],
    name: 'choose',
    attribute: [
      graphAttr('then_branch', { name: 't', node: [{ op_type: 'Relu', input: ['x'], output: ['r'] }], output: [typed('r', FLOAT)] }),
      graphAttr('else_branch', { name: 'e', node: [{ op_type: 'Neg', input: ['x'], output: ['r'] }], output: [typed('r', FLOAT)] }),
    ],
  };
}

describe('If with a known condition is replaced by its branch', () => {
  it('a condition derived from a bound shape picks either branch', async () => {
    // batch 2: 2·4 = 8, the then branch (Relu, target [1, -1]); batch 3: 12, the else branch (x, target [-1, 2])
    assert.deepEqual(await sameAsFile(shapeCondition(), [2, 4], 2), { ops: ['Relu', 'Reshape'], shape: [1, 8] });
    assert.deepEqual(await sameAsFile(shapeCondition(), [3, 4], 3), { ops: ['Identity', 'Reshape'], shape: [6, 2] });
  });

  it('a constant condition, both branches, with a nested If reading the outer branch', async () => {
    assert.deepEqual(await sameAsFile(constantCondition(true, true), [2, 4]), { ops: ['Add', 'Neg'], shape: [2, 4] });
    assert.deepEqual(await sameAsFile(constantCondition(true, false), [2, 4]), { ops: ['Add', 'Identity'], shape: [2, 4] });
    assert.deepEqual(await sameAsFile(constantCondition(false, true), [2, 4]), { ops: ['Mul'], shape: [2, 4] });
  });

  it('renames the branch tensors under the If node name and keeps node names unique', () => {
    const graph = analyzeGraph(readModelBytes(constantCondition(true, true), '.')).graph;
    assert.deepEqual(
      graph.nodes.map((n) => [n.name, n.inputs, n.outputs]),
      [
        ['If_1/Add_0', ['x', 'If_1/w'], ['If_1/a']],
        ['If_1/If_1/Neg_0', ['If_1/a'], ['y']],
      ],
    );
    assert.deepEqual([...graph.initializers.keys()].sort(), ['If_1/w']);
  });

  it('a condition computed at run time is a one-line error naming the If', () => {
    const bytes = model([
      { op_type: 'ReduceSum', input: ['x'], output: ['total'], attribute: [{ name: 'keepdims', type: ATTRIBUTE_TYPE.INT, i: 0 }] },
      { op_type: 'Constant', output: ['zero'], attribute: [{ name: 'value_float', type: ATTRIBUTE_TYPE.FLOAT, f: 0 }] },
      { op_type: 'Greater', input: ['total', 'zero'], output: ['c'], name: 'positive' },
      chooseReluOrNeg(),
    ]);
    assert.throws(
      () => analyzeGraph(readModelBytes(bytes, '.'), { bindings: { dims: { batch: 2 } } }),
      (error: unknown) =>
        error instanceof MemoriaNovaError &&
        error.code === 'dynamic-shape' &&
        error.message ===
          "If node 'choose': its condition 'c' is computed at run time, so the branch it takes is not known, and its output shapes are not declared in the file (value_info)",
    );
  });

  it('a branch output that no branch node produces reaches the If output through Identity', () => {
    const bytes = model(
      [
        { op_type: 'Constant', output: ['c'], attribute: [{ name: 'value_int', type: ATTRIBUTE_TYPE.INT, i: 1 }] },
        {
          op_type: 'If',
          input: ['c'],
          output: ['y'],
          attribute: [
            graphAttr('then_branch', { name: 't', node: [], output: [typed('x', FLOAT)] }),
            graphAttr('else_branch', { name: 'e', node: [{ op_type: 'Neg', input: ['x'], output: ['n'] }], output: [typed('n', FLOAT)] }),
          ],
        },
      ],
      { input: [tensorValueInfo('x', FLOAT, [2, 4])] },
    );
    const analyzed = analyzeGraph(readModelBytes(bytes, '.'));
    assert.deepEqual(
      analyzed.graph.nodes.map((n) => [n.name, n.opType, n.inputs, n.outputs]),
      [['If_1/output_0', 'Identity', ['x'], ['y']]],
    );
    assert.deepEqual(analyzed.graph.outputs[0]!.shape, [2, 4]);
  });

  it('a run-time condition with declared output shapes keeps the If as one opaque operator', () => {
    const bytes = model(
      [
        { op_type: 'ReduceMax', input: ['x'], output: ['m'], attribute: [{ name: 'keepdims', type: ATTRIBUTE_TYPE.INT, i: 0 }] },
        { op_type: 'Cast', input: ['m'], output: ['c'], attribute: [{ name: 'to', type: ATTRIBUTE_TYPE.INT, i: BOOL }] },
        chooseReluOrNeg(),
      ],
      { input: [tensorValueInfo('x', FLOAT, [2, 4])], output: [tensorValueInfo('y', FLOAT, [2, 4])] },
    );
    const analyzed = analyzeGraph(readModelBytes(bytes, '.'));
    assert.deepEqual(
      analyzed.ops.map((op) => [op.node.opType, op.opaque]),
      [
        ['ReduceMax', false],
        ['Cast', false],
        ['If', true],
      ],
    );
  });

  it('If branches count towards the node limit at import', () => {
    assert.throws(
      () => readModelBytes(constantCondition(true, true), '.', 'm.onnx', { maxNodes: 6 }),
      /^MemoriaNovaError: the graph has 2 nodes and its If branches 5 more, over the limit of 6 \(--max-nodes\)$/,
    );
    assert.doesNotThrow(() => readModelBytes(constantCondition(true, true), '.', 'm.onnx', { maxNodes: 7 }));
  });
});
