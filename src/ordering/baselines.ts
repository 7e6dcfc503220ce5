import { fail } from '../errors.ts';
import type { MemoryGraph } from '../memory/graph.ts';
import { evaluateOrder } from '../memory/model.ts';
import { MemoryIndex, MemoryState } from '../memory/state.ts';
import { mulberry32 } from '../random.ts';

/** The order the file lists its operators in (a stable Kahn order, lowest index first, if that is not topological). */
export function fileOrder(graph: MemoryGraph): number[] {
  return listSchedule(new MemoryIndex(graph), (ready) => ready.reduce((a, b) => Math.min(a, b)));
}

/** One random topological order: at every step a uniformly chosen ready operator (the paper's random strategy). */
export function randomOrder(graph: MemoryGraph, seed: number, index = new MemoryIndex(graph)): number[] {
  const random = mulberry32(seed);
  return listSchedule(index, (ready) => ready[Math.floor(random() * ready.length)]!);
}

/**
 * Reverse post-order of a depth-first walk from the source operators (lowest index first, successors in
 * index order): each branch is finished before the next starts, the classic compiler order.
 */
export function dfsOrder(graph: MemoryGraph, index = new MemoryIndex(graph)): number[] {
  const n = index.opCount;
  const visited = new Uint8Array(n);
  const finished: number[] = [];
  const successors = index.successors.map((list) => [...list].sort((a, b) => a - b));
  for (let root = 0; root < n; root++) {
    if (visited[root] === 1 || index.predecessorCount[root] !== 0) continue;
    visited[root] = 1;
    const stack: [number, number][] = [[root, 0]];
    while (stack.length > 0) {
      const frame = stack[stack.length - 1]!;
      const list = successors[frame[0]]!;
      if (frame[1] < list.length) {
        const next = list[frame[1]++]!;
        if (visited[next] === 0) {
          visited[next] = 1;
          stack.push([next, 0]);
        }
      } else {
        finished.push(frame[0]);
        stack.pop();
      }
    }
  }
  return finished.reverse();
}

/**
 * Greedy list scheduler: always run the ready operator that lowers resident memory most (frees most or
 * allocates least); ties go to the smaller live bytes while it runs, then the lower index.
 */
export function greedyOrder(graph: MemoryGraph, index = new MemoryIndex(graph)): number[] {
  return listSchedule(index, (ready, state) => {
    let best = ready[0]!;
    let bestDelta = state.residentDelta(best);
    let bestStep = state.stepBytes(best);
    for (const op of ready) {
      const delta = state.residentDelta(op);
      const step = state.stepBytes(op);
      if (delta < bestDelta || (delta === bestDelta && (step < bestStep || (step === bestStep && op < best)))) {
        best = op;
        bestDelta = delta;
        bestStep = step;
      }
    }
    return best;
  });
}

/** Runs operators one at a time, letting `pick` choose among the ready ones. */
function listSchedule(index: MemoryIndex, pick: (ready: number[], state: MemoryState) => number): number[] {
  const state = new MemoryState(index);
  const ready: number[] = [];
  for (let op = 0; op < index.opCount; op++) if (index.predecessorCount[op] === 0) ready.push(op);
  const order: number[] = [];
  while (ready.length > 0) {
    const op = pick(ready, state);
    ready.splice(ready.indexOf(op), 1);
    state.apply(op);
    order.push(op);
    for (const s of index.successors[op]!) if (state.waitingFor[s] === 0) ready.push(s);
  }
  return order;
}

export type BaselineMethod = 'file' | 'random-mean' | 'random-best' | 'random-worst' | 'dfs' | 'greedy';

export interface BaselineResult {
  method: BaselineMethod;
  peakBytes: number;
  /** The order behind the number; absent for random-mean, which is an average, not an order. */
  order?: number[];
}

export interface BaselineOptions {
  inplace?: boolean;
  /** Random orders sampled (default 100). */
  randomSamples?: number;
  /** Seed of the first random order; sample i uses seed + i (default 1). */
  seed?: number;
}

/** Every baseline order with its peak under the memory model (activations only). */
/** The complete orders of baseline results, which BTSearch starts from (its incumbents). */
export function incumbentsOf(results: readonly BaselineResult[]): number[][] {
  return results.flatMap((b) => (b.order === undefined ? [] : [b.order]));
}

export function baselines(graph: MemoryGraph, options: BaselineOptions = {}): BaselineResult[] {
  const memory = { inplace: options.inplace ?? true };
  const index = new MemoryIndex(graph, memory.inplace);
  const peakOf = (order: number[]) => evaluateOrder(graph, order, memory).peakBytes;
  const result = (method: BaselineMethod, order: number[]): BaselineResult => ({ method, peakBytes: peakOf(order), order });
  const samples = options.randomSamples ?? 100;
  if (!Number.isInteger(samples) || samples < 1) fail(`randomSamples must be a positive integer, got ${samples}`, 'usage');
  const seed = options.seed ?? 1;
  const random = Array.from({ length: samples }, (_, i) => result('random-best', randomOrder(graph, seed + i, index)));
  const best = random.reduce((a, b) => (b.peakBytes < a.peakBytes ? b : a));
  const worst = random.reduce((a, b) => (b.peakBytes > a.peakBytes ? b : a));
  const mean = random.reduce((sum, r) => sum + r.peakBytes, 0) / Math.max(1, samples);
  return [
    result('file', fileOrder(graph)),
    { method: 'random-mean', peakBytes: mean },
    { method: 'random-best', peakBytes: best.peakBytes, order: best.order! },
    { method: 'random-worst', peakBytes: worst.peakBytes, order: worst.order! },
    result('dfs', dfsOrder(graph, index)),
    result('greedy', greedyOrder(graph, index)),
  ];
}
