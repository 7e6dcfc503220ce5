import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { memoryGraphFromSpec, orderByNames } from '../memory/literal.ts';
import { checkOrder, evaluateOrder } from '../memory/model.ts';
import { MemoryIndex } from '../memory/state.ts';
import { baselines, dfsOrder, fileOrder, greedyOrder } from './baselines.ts';
import { btsearch } from './btsearch.ts';
import { segmentsOf } from './segments.ts';
import { arbitraryMemoryGraph, bruteForceMinimumPeak } from './testing.ts';

// Two branches from x: A makes a big tensor that B shrinks; C makes a medium one that D shrinks. Running a
// branch to its end before starting the other keeps one big tensor live at a time.
const branches = memoryGraphFromSpec({
  tensors: { x: 10, a: 100, b: 1, c: 60, d: 1, e: 1 },
  ops: [
    ['A', ['x'], ['a']],
    ['C', ['x'], ['c']],
    ['B', ['a'], ['b']],
    ['D', ['c'], ['d']],
    ['E', ['b', 'd'], ['e']],
  ],
  inputs: ['x'],
  outputs: ['e'],
});

describe('BTSearch', () => {
  it('finds the hand-computed optimum of two branches', () => {
    // File order A C B D E: A 110, C 170, B 161 ... peak 170. Best: C D A B E: 70, 71, 111, 102 (x freed at A), 3 → 111.
    assert.equal(evaluateOrder(branches, fileOrder(branches)).peakBytes, 170);
    const result = btsearch(branches, { incumbents: [fileOrder(branches)] });
    assert.equal(result.peakBytes, 111);
    assert.equal(result.optimal, true);
    assert.equal(result.lowerBoundBytes, 111);
    assert.deepEqual(result.order, orderByNames(branches, ['C', 'D', 'A', 'B', 'E']));
  });

  it('out of time: the static lower bound, hand-computed', () => {
    // Segment {A, C, B, D} (E is a cut). Live in every order: at A, x and a → 110; at C, x and c → 70; at B,
    // a and b → 101 (x may already be freed); at D, c and d → 61. Bound 110; the optimum is 111.
    const result = btsearch(branches, { timeLimitMs: 0, incumbents: [fileOrder(branches)] });
    assert.equal(result.peakBytes, 170);
    assert.equal(result.lowerBoundBytes, 110);
    assert.equal(result.optimal, false);
  });

  it('equals the brute-force minimum over all topological orders on random DAGs (6–12 operators)', () => {
    fc.assert(
      fc.property(arbitraryMemoryGraph(12), fc.boolean(), (graph, inplace) => {
        const result = btsearch(graph, { inplace, incumbents: [fileOrder(graph)] });
        checkOrder(graph, result.order);
        assert.equal(result.peakBytes, evaluateOrder(graph, result.order, { inplace }).peakBytes);
        assert.equal(result.peakBytes, bruteForceMinimumPeak(graph, inplace));
        assert.equal(result.optimal, true);
        assert.equal(result.lowerBoundBytes, result.peakBytes);
      }),
      { seed: 20261123, numRuns: 150 },
    );
  });

  it('out of time: returns a valid order with an honest lower bound', () => {
    fc.assert(
      fc.property(arbitraryMemoryGraph(10), (graph) => {
        const result = btsearch(graph, { timeLimitMs: 0, incumbents: [greedyOrder(graph)] });
        checkOrder(graph, result.order);
        assert.equal(result.peakBytes, evaluateOrder(graph, result.order).peakBytes);
        assert.ok(result.lowerBoundBytes <= bruteForceMinimumPeak(graph));
        assert.equal(result.optimal, result.lowerBoundBytes === result.peakBytes);
      }),
      { seed: 7, numRuns: 100 },
    );
  });
});

describe('segments', () => {
  it('cut operators stand alone; the branches between them form one segment', () => {
    const graph = memoryGraphFromSpec({
      tensors: { x: 1, a: 1, b: 1, c: 1, d: 1, e: 1 },
      ops: [
        ['A', ['x'], ['a']],
        ['B', ['a'], ['b']],
        ['C', ['a'], ['c']],
        ['D', ['b', 'c'], ['d']],
        ['E', ['d', 'a'], ['e']],
      ],
      inputs: ['x'],
      outputs: ['e'],
    });
    const index = new MemoryIndex(graph);
    const names = segmentsOf(index, fileOrder(graph)).map((s) => s.map((op) => graph.ops[op]!.name));
    assert.deepEqual(names, [['A'], ['B', 'C'], ['D'], ['E']]);
  });

  it('a side branch that joins late keeps everything in between in one segment', () => {
    const graph = memoryGraphFromSpec({
      tensors: { x: 1, a: 1, b: 1, s: 1, e: 1 },
      ops: [
        ['A', ['x'], ['a']],
        ['B', ['a'], ['b']],
        ['S', ['x'], ['s']],
        ['E', ['b', 's'], ['e']],
      ],
      inputs: ['x'],
      outputs: ['e'],
    });
    const names = segmentsOf(new MemoryIndex(graph), fileOrder(graph)).map((s) => s.map((op) => graph.ops[op]!.name));
    assert.deepEqual(names, [['A', 'B', 'S'], ['E']]);
  });
});

describe('baselines', () => {
  it('file, dfs, greedy and random orders are valid and pinned on the two-branch graph', () => {
    const results = Object.fromEntries(baselines(branches, { randomSamples: 20 }).map((r) => [r.method, r]));
    assert.equal(results.file!.peakBytes, 170);
    // Reverse post-order: the walk from A finishes E, B, A, the walk from C finishes D, C; reversed: C D A B E.
    assert.deepEqual(dfsOrder(branches), orderByNames(branches, ['C', 'D', 'A', 'B', 'E']));
    assert.equal(results.dfs!.peakBytes, 111);
    // Greedy: C (+60) before A (+100) as x is still live either way; then D (−59), A (+90), B (−99), E.
    assert.deepEqual(greedyOrder(branches), orderByNames(branches, ['C', 'D', 'A', 'B', 'E']));
    assert.ok(results['random-best']!.peakBytes <= results['random-mean']!.peakBytes);
    assert.ok(results['random-mean']!.peakBytes <= results['random-worst']!.peakBytes);
    for (const r of Object.values(results)) if (r.order !== undefined) checkOrder(branches, r.order);
  });
});

describe('BTSearch every-segment phase', () => {
  it('a zero budget for the polish keeps the proven global optimum (brute force)', () => {
    fc.assert(
      fc.property(arbitraryMemoryGraph(9), (graph) => {
        const polished = btsearch(graph);
        const unpolished = btsearch(graph, { everySegmentMs: 0 });
        assert.equal(unpolished.peakBytes, bruteForceMinimumPeak(graph), 'global optimum');
        assert.equal(unpolished.peakBytes, polished.peakBytes, 'same peak as with the polish');
        assert.equal(unpolished.optimal, true, 'proven');
        checkOrder(graph, unpolished.order);
      }),
      { seed: 11, numRuns: 60 },
    );
  });
});
