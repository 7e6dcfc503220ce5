import fc from 'fast-check';
import type { MemoryBehaviour } from '../ir/graph.ts';
import type { MemoryGraph } from '../memory/graph.ts';
import { MemoryIndex, MemoryState } from '../memory/state.ts';

/**
 * Random DAG memory graphs for property tests: `maxOps` operators, each reading 1–3 earlier tensors (graph
 * inputs or outputs of earlier operators) and writing 1–2 tensors of random size, with random behaviours;
 * random graph outputs.
 */
export function arbitraryMemoryGraph(maxOps: number): fc.Arbitrary<MemoryGraph> {
  const behaviour = fc.constantFrom<MemoryBehaviour>('normal', 'normal', 'alias', 'elementwise');
  const op = fc.record({
    reads: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }),
    outputs: fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 2 }),
    behaviour,
    sameSize: fc.boolean(),
    isOutput: fc.boolean(),
  });
  return fc
    .record({
      inputs: fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 2 }),
      ops: fc.array(op, { minLength: Math.min(maxOps, 6), maxLength: maxOps }),
    })
    .map(({ inputs, ops }) => {
      const tensorNames: string[] = [];
      const tensorBytes: number[] = [];
      const add = (bytes: number) => {
        tensorNames.push(`t${tensorNames.length}`);
        tensorBytes.push(bytes);
        return tensorNames.length - 1;
      };
      const graphInputs = inputs.map(add);
      const graphOutputs: number[] = [];
      const consumed = new Set<number>();
      const memoryOps: MemoryGraph['ops'] = ops.map((spec, i) => {
        const available = tensorNames.length;
        const reads = [...new Set(spec.reads.map((r) => r % available))];
        reads.forEach((r) => consumed.add(r));
        // Same-size outputs make views and in-place writes actually happen.
        const sizes = spec.sameSize ? spec.outputs.map((s, j) => (j === 0 ? tensorBytes[reads[0]!]! : s)) : spec.outputs;
        const outputs = sizes.map(add);
        if (spec.isOutput) graphOutputs.push(outputs[0]!);
        return { name: `op${i}`, inputs: reads, outputs, behaviour: spec.behaviour };
      });
      return { tensorNames, tensorBytes, ops: memoryOps, graphInputs, graphOutputs };
    });
}

/** The least peak over every topological order, by plain enumeration (no pruning, no memo). */
export function bruteForceMinimumPeak(graph: MemoryGraph, inplace = true): number {
  const index = new MemoryIndex(graph, inplace);
  const state = new MemoryState(index);
  const n = index.opCount;
  let best = Number.POSITIVE_INFINITY;
  const walk = (depth: number, peak: number): void => {
    if (depth === n) {
      best = Math.min(best, peak);
      return;
    }
    for (let op = 0; op < n; op++) {
      if (!state.isReady(op)) continue;
      const step = state.apply(op);
      walk(depth + 1, Math.max(peak, step));
      state.undo(op);
    }
  };
  walk(0, index.initialResident);
  return best;
}
