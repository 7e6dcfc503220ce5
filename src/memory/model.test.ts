import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoriaNovaError } from '../errors.ts';
import { GraphBuilder } from '../ir/builder.ts';
import type { AnalyzedOp, Model, TensorInfo } from '../ir/graph.ts';
import { memoryGraphOf, weightBytesOf } from './graph.ts';
import { memoryGraphFromSpec, orderByNames } from './literal.ts';
import { evaluateOrder } from './model.ts';

function profile(spec: Parameters<typeof memoryGraphFromSpec>[0], names: string[], options = {}) {
  const graph = memoryGraphFromSpec(spec);
  return evaluateOrder(graph, orderByNames(graph, names), options);
}

describe('memory model (docs/memory.md), hand-computed', () => {
  // x(10) → A → a(20); B(a) → b(5); C(a) → c(40); D(b, c) → d(5), output.
  const diamond = {
    tensors: { x: 10, a: 20, b: 5, c: 40, d: 5 },
    ops: [
      ['A', ['x'], ['a']],
      ['B', ['a'], ['b']],
      ['C', ['a'], ['c']],
      ['D', ['b', 'c'], ['d']],
    ] as [string, string[], string[]][],
    inputs: ['x'],
    outputs: ['d'],
  };

  it('diamond: inputs freed after the last reader, outputs allocated while inputs live', () => {
    const p = profile(diamond, ['A', 'B', 'C', 'D']);
    // A: 10 + 20 = 30, x dies → 20. B: 20 + 5 = 25 → 25. C: 25 + 40 = 65, a dies → 45. D: 45 + 5 = 50 → 5.
    assert.deepEqual(p.stepBytes, [30, 25, 65, 50]);
    assert.deepEqual(p.residentAfter, [20, 25, 45, 5]);
    assert.equal(p.peakBytes, 65);
    assert.equal(p.peakStep, 2);
    const q = profile(diamond, ['A', 'C', 'B', 'D']);
    // C: 20 + 40 = 60 → 60. B: 60 + 5 = 65, a dies → 45: resident after {A,B,C} is the same either way.
    assert.deepEqual(q.stepBytes, [30, 60, 65, 50]);
    assert.deepEqual(q.residentAfter, [20, 60, 45, 5]);
  });

  it('alias chain shares one buffer, freed when its last view dies', () => {
    const spec = {
      tensors: { x: 16, r1: 16, r2: 16, y: 8, z: 4 },
      ops: [
        ['R1', ['x'], ['r1'], 'alias'],
        ['R2', ['r1'], ['r2'], 'alias'],
        ['N', ['r2'], ['y']],
        ['K', ['x', 'y'], ['z']],
      ] as [string, string[], string[], 'alias' | 'normal'][],
      inputs: ['x'],
      outputs: ['z'],
    };
    const p = profile(spec, ['R1', 'R2', 'N', 'K']);
    // Views allocate nothing; x's buffer survives N because K still reads x; K frees x and y.
    assert.deepEqual(p.stepBytes, [16, 16, 24, 28]);
    assert.deepEqual(p.residentAfter, [16, 16, 24, 4]);
    assert.equal(p.peakBytes, 28);
  });

  it('alias of a size-changing op is not a view', () => {
    const p = profile(
      {
        tensors: { x: 16, r: 8, y: 4 },
        ops: [
          ['R', ['x'], ['r'], 'alias'],
          ['N', ['r'], ['y']],
        ],
        inputs: ['x'],
        outputs: ['y'],
      },
      ['R', 'N'],
    );
    assert.deepEqual(p.stepBytes, [24, 12]);
  });

  // x(10) → C → c(20) → R (elementwise) → r(20) → S (elementwise) → s(20), output.
  const chain = {
    tensors: { x: 10, c: 20, r: 20, s: 20 },
    ops: [
      ['C', ['x'], ['c']],
      ['R', ['c'], ['r'], 'elementwise'],
      ['S', ['r'], ['s'], 'elementwise'],
    ] as [string, string[], string[], 'elementwise' | 'normal'][],
    inputs: ['x'],
    outputs: ['s'],
  };

  it('in-place chain reuses the dying input; --no-inplace allocates', () => {
    const p = profile(chain, ['C', 'R', 'S']);
    assert.deepEqual(p.stepBytes, [30, 20, 20]);
    assert.deepEqual(p.residentAfter, [20, 20, 20]);
    assert.equal(p.peakBytes, 30);
    const q = profile(chain, ['C', 'R', 'S'], { inplace: false });
    assert.deepEqual(q.stepBytes, [30, 40, 40]);
    assert.deepEqual(q.residentAfter, [20, 20, 20]);
    assert.equal(q.peakBytes, 40);
  });

  it('no in-place while the input is still read later, or into a differently sized input', () => {
    const p = profile(
      {
        tensors: { x: 10, c: 20, r: 20, a: 20, b: 4, e: 20 },
        ops: [
          ['C', ['x'], ['c']],
          ['R', ['c'], ['r'], 'elementwise'],
          ['A', ['c', 'r'], ['a']],
          ['E', ['a', 'b'], ['e'], 'elementwise'],
        ],
        inputs: ['x', 'b'],
        outputs: ['e'],
      },
      ['C', 'R', 'A', 'E'],
    );
    // Initial 14. C: 34 → 24. R: c still read by A → 44 → 44. A: 64, c and r die → 24. E: a dies (same size) → 24 → 20.
    assert.deepEqual(p.stepBytes, [34, 44, 64, 24]);
    assert.deepEqual(p.residentAfter, [24, 44, 24, 20]);
  });

  it('a graph output read later stays live to the end', () => {
    const p = profile(
      {
        tensors: { x: 2, a: 10, b: 5 },
        ops: [
          ['A', ['x'], ['a']],
          ['B', ['a'], ['b']],
        ],
        inputs: ['x'],
        outputs: ['a', 'b'],
      },
      ['A', 'B'],
    );
    assert.deepEqual(p.stepBytes, [12, 15]);
    assert.deepEqual(p.residentAfter, [10, 15]);
  });

  it('an output nobody reads is freed right after its operator', () => {
    const p = profile(
      {
        tensors: { x: 8, o1: 4, o2: 4, y: 2 },
        ops: [
          ['A', ['x'], ['o1', 'o2']],
          ['B', ['o1'], ['y']],
        ],
        inputs: ['x'],
        outputs: ['y'],
      },
      ['A', 'B'],
    );
    assert.deepEqual(p.stepBytes, [16, 6]);
    assert.deepEqual(p.residentAfter, [4, 2]);
    assert.equal(p.peakBytes, 16);
  });

  it('weights: reported apart, added as a constant with includeWeights', () => {
    const graph = memoryGraphFromSpec(chain);
    const order = orderByNames(graph, ['C', 'R', 'S']);
    assert.equal(evaluateOrder(graph, order, {}, 100).peakBytes, 30);
    const p = evaluateOrder(graph, order, { includeWeights: true }, 100);
    assert.equal(p.peakBytes, 130);
    assert.equal(p.weightBytes, 100);
    assert.deepEqual(p.stepBytes, [130, 120, 120]);
  });

  it('the initial state counts: graph inputs are live before any operator', () => {
    const graph = memoryGraphFromSpec({ tensors: { x: 50, y: 1 }, ops: [], inputs: ['x', 'y'], outputs: [] });
    const p = evaluateOrder(graph, []);
    assert.equal(p.peakBytes, 51);
    assert.equal(p.peakStep, -1);
  });

  it('rejects orders that are not topological, repeat or miss operators', () => {
    const graph = memoryGraphFromSpec(diamond);
    assert.throws(
      () => evaluateOrder(graph, orderByNames(graph, ['B', 'A', 'C', 'D'])),
      (e: unknown) => e instanceof MemoriaNovaError && /'B' before/.test(e.message),
    );
    assert.throws(() => evaluateOrder(graph, orderByNames(graph, ['A', 'A', 'C', 'D'])), /twice/);
    assert.throws(() => evaluateOrder(graph, orderByNames(graph, ['A', 'B', 'C'])), /3 operators, the graph 4/);
  });
});

describe('memoryGraphOf', () => {
  it('keeps activations and graph inputs, drops weights, keeps alias source first', () => {
    const b = new GraphBuilder('t');
    const x = b.input('x', 'float32', [1, 4]);
    const w = b.weight('w', [4, 4]);
    const shape = b.int64('shape', [4]);
    const m = b.op('MatMul', [x, w]);
    const r = b.op('Reshape', [m, shape]);
    const v = b.op('Reshape', [shape, shape]);
    const s = b.op('Add', [r, v]);
    b.output(s);
    const graph = b.build();
    const tensors = new Map<string, TensorInfo>();
    const info = (name: string, kind: TensorInfo['kind'], bytes: number) =>
      tensors.set(name, { name, dtype: 'float32', shape: [bytes / 4], bytes, kind });
    info(x, 'input', 16);
    info(w, 'weight', 64);
    info(shape, 'weight', 8);
    info(m, 'activation', 16);
    info(r, 'activation', 16);
    info(v, 'activation', 32);
    info(s, 'activation', 16);
    const memory = { matmul: 'normal', reshape: 'alias', add: 'elementwise' } as const;
    const ops: AnalyzedOp[] = graph.nodes.map((node) => ({
      node,
      cost: { flops: 0, bytesRead: 0, bytesWritten: 0, weightBytes: 0 },
      memory: memory[node.opType.toLowerCase() as keyof typeof memory],
      opaque: false,
    }));
    const model: Model = { name: 't', graph, ops, tensors, fileTensors: { initializerElements: 0, constantNodeElements: 0 }, warnings: [] };
    const mg = memoryGraphOf(model);
    assert.deepEqual(mg.tensorNames, [x, m, r, v, s]);
    assert.deepEqual(mg.tensorBytes, [16, 16, 16, 32, 16]);
    assert.deepEqual(
      mg.ops.map((op) => op.inputs),
      [[0], [1], [], [2, 3]],
    );
    // The Reshape of a weight has no activation to view: it gets a buffer of its own.
    assert.deepEqual(
      mg.ops.map((op) => op.behaviour),
      ['normal', 'alias', 'normal', 'elementwise'],
    );
    assert.deepEqual(mg.graphInputs, [0]);
    assert.deepEqual(mg.graphOutputs, [4]);
    assert.equal(weightBytesOf(model), 72);
  });
});
