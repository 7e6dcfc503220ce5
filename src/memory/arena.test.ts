import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fileOrder, randomOrder } from '../ordering/baselines.ts';
import { arbitraryMemoryGraph } from '../ordering/testing.ts';
import { arenaBlocks, arenaConflicts, arenaLowerBound, greedyBySize, placeBlocks, planArena } from './arena.ts';
import { memoryGraphFromSpec, orderByNames } from './literal.ts';
import { evaluateOrder } from './model.ts';

describe('arena', () => {
  it('hand-computed: lifetimes, in-place blocks, greedy by size vs the better search', () => {
    // x(10) → C → c(20) → R (in place) → r(20); C2(x) → d(30); E(r, d) → e(5).
    const graph = memoryGraphFromSpec({
      tensors: { x: 10, c: 20, r: 20, d: 30, e: 5 },
      ops: [
        ['C', ['x'], ['c']],
        ['R', ['c'], ['r'], 'elementwise'],
        ['D', ['x'], ['d']],
        ['E', ['r', 'd'], ['e']],
      ],
      inputs: ['x'],
      outputs: ['e'],
    });
    const order = orderByNames(graph, ['C', 'R', 'D', 'E']);
    const blocks = arenaBlocks(graph, order);
    assert.deepEqual(
      blocks.map((b) => [b.bytes, b.first, b.last, b.tensors.map((t) => graph.tensorNames[t]).join('+')]),
      [
        [10, 0, 2, 'x'],
        [20, 0, 3, 'c+r'],
        [30, 2, 3, 'd'],
        [5, 3, 3, 'e'],
      ],
    );
    // Steps: 30, 30, 60, 55 → lower bound 60.
    assert.equal(arenaLowerBound(blocks), 60);
    assert.equal(evaluateOrder(graph, order).peakBytes, 60);
    // Greedy by size: d@0, c+r@30, x@50, e: clear of d and c+r → 50. Arena 60, the bound.
    const greedy = greedyBySize(blocks);
    assert.deepEqual(greedy.offsets, [50, 30, 0, 50]);
    assert.equal(greedy.arenaBytes, 60);
    assert.deepEqual(arenaConflicts(greedy), []);
  });

  it('no two lifetime-overlapping blocks share bytes in any plan; arena ≥ peak; search ≤ greedy by size', () => {
    fc.assert(
      fc.property(arbitraryMemoryGraph(12), fc.integer({ min: 0, max: 1000 }), fc.boolean(), (graph, seed, inplace) => {
        const order = seed === 0 ? fileOrder(graph) : randomOrder(graph, seed);
        const blocks = arenaBlocks(graph, order, { inplace });
        const peak = evaluateOrder(graph, order, { inplace }).peakBytes;
        assert.equal(arenaLowerBound(blocks), peak);
        const greedy = greedyBySize(blocks);
        const best = planArena(blocks);
        const ids = blocks.map((_, i) => i);
        const plans = [
          greedy,
          best,
          { blocks, method: 'start', ...placeBlocks(blocks, ids, 'best') },
          { blocks, method: 'reverse', ...placeBlocks(blocks, [...ids].reverse(), 'first') },
        ];
        for (const plan of plans) {
          assert.deepEqual(arenaConflicts(plan), [], plan.method);
          assert.ok(plan.arenaBytes >= peak);
        }
        assert.ok(best.arenaBytes <= greedy.arenaBytes);
        // Every activation has a place.
        const placed = new Set(blocks.flatMap((b) => b.tensors));
        assert.equal(placed.size, graph.tensorNames.length);
      }),
      { seed: 42, numRuns: 300 },
    );
  });
});
