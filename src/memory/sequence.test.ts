import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MemoryBehaviour } from '../ir/graph.ts';
import { mulberry32 } from '../random.ts';
import type { MemoryGraph } from './graph.ts';
import { evaluateOrder } from './model.ts';
import { SequenceMemory } from './sequence.ts';

function load(sequence: SequenceMemory, graph: MemoryGraph): void {
  sequence.reset();
  for (const bytes of graph.tensorBytes) sequence.tensor(bytes);
  for (const op of graph.ops) {
    sequence.op(op.behaviour);
    for (const t of op.inputs) sequence.input(t);
    for (const t of op.outputs) sequence.output(t);
  }
}

test('hand-computed: a view shares its source buffer, an element-wise op writes in place, a send keeps its input alive', () => {
  // x(8) = A(); v = view(x) (alias, 8 bytes); r = Relu(v) in place over x's buffer (it dies there); send(r).
  const graph: MemoryGraph = {
    tensorNames: ['x', 'v', 'r'],
    tensorBytes: [8, 8, 8],
    ops: [
      { name: 'A', inputs: [], outputs: [0], behaviour: 'normal' },
      { name: 'view', inputs: [0], outputs: [1], behaviour: 'alias' },
      { name: 'relu', inputs: [1], outputs: [2], behaviour: 'elementwise' },
      { name: 'send', inputs: [2], outputs: [], behaviour: 'normal' },
    ],
    graphInputs: [],
    graphOutputs: [],
  };
  const sequence = new SequenceMemory();
  load(sequence, graph);
  // A: 8. view: 8 (no new buffer). relu: 8 + 8 - 8 (in place) = 8. send: 8. Peak 8.
  assert.equal(sequence.peakBytes(), 8, 'peak with the view and the in-place write');
  assert.equal(evaluateOrder(graph, [0, 1, 2, 3]).peakBytes, 8, 'evaluateOrder agrees');
});

test('peakBytes equals evaluateOrder on 400 seeded random graphs run in their listed order, with reuse', () => {
  const random = mulberry32(7);
  const pick = (n: number) => Math.floor(random() * n);
  const behaviours: MemoryBehaviour[] = ['normal', 'elementwise', 'alias'];
  const sequence = new SequenceMemory();
  for (let g = 0; g < 400; g++) {
    const tensorBytes: number[] = [];
    const ops: MemoryGraph['ops'] = [];
    const opCount = 1 + pick(40);
    for (let i = 0; i < opCount; i++) {
      const inputs: number[] = [];
      for (let j = pick(4); j > 0 && tensorBytes.length > 0; j--) {
        const t = pick(tensorBytes.length);
        if (!inputs.includes(t)) inputs.push(t);
      }
      const outputs: number[] = [];
      for (let k = pick(3); k >= 0; k--) {
        // Sizes from a small set, so views and in-place writes of equal size are common.
        const same = inputs.length > 0 && random() < 0.5;
        tensorBytes.push(same ? tensorBytes[inputs[0]!]! : [0, 4, 8, 16, 1000][pick(5)]!);
        outputs.push(tensorBytes.length - 1);
      }
      ops.push({ name: `op${i}`, inputs, outputs, behaviour: behaviours[pick(3)]! });
    }
    const graph: MemoryGraph = { tensorNames: tensorBytes.map((_, t) => `t${t}`), tensorBytes, ops, graphInputs: [], graphOutputs: [] };
    load(sequence, graph);
    const expected = evaluateOrder(
      graph,
      ops.map((_, i) => i),
    ).peakBytes;
    assert.equal(sequence.peakBytes(), expected, `graph ${g}: peak`);
  }
});
