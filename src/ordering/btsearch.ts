import type { MemoryGraph } from '../memory/graph.ts';
import { checkOrder } from '../memory/model.ts';
import { MemoryIndex, MemoryState } from '../memory/state.ts';
import { greedyOrder } from './baselines.ts';
import { segmentLowerBound } from './bounds.ts';
import { mulberry32 } from '../random.ts';
import { segmentsOf } from './segments.ts';
import { FailedStates } from './state-table.ts';

export interface BTSearchOptions {
  /** Memory model switch (docs/memory.md); default true. */
  inplace?: boolean;
  /** Wall-clock budget in milliseconds; when it runs out the best order so far is returned, unproven. */
  timeLimitMs?: number;
  /** Complete orders to start from (the incumbents); the greedy order when none are given. */
  incumbents?: number[][];
  /**
   * After the global peak is proven, also bring every other segment to its own least peak (default true):
   * the partitioner places segments on different devices, where each one's own peak matters.
   */
  everySegment?: boolean;
  /**
   * Milliseconds the every-segment phase may take after the proof (default EVERY_SEGMENT_MS), within timeLimitMs:
   * it only polishes segments below the peak, so it must not hold a proven answer back for the whole budget.
   */
  everySegmentMs?: number;
  /** Failed search states remembered before the table is cleared (bounds memory; default 4 million). */
  maxRememberedStates?: number;
  /** Called after every budget probe: time spent, the best peak so far and the proven lower bound. */
  onProgress?: (progress: BTSearchProgress) => void;
}

export interface BTSearchProgress {
  elapsedMs: number;
  peakBytes: number;
  lowerBoundBytes: number;
}

/** Default budget of the every-segment phase (BTSearchOptions.everySegmentMs). */
export const EVERY_SEGMENT_MS = 5000;

export interface BTSearchResult {
  order: number[];
  /** Peak live activation bytes of `order` (activations only). */
  peakBytes: number;
  /** True when no order has a lower peak: peakBytes equals lowerBoundBytes. */
  optimal: boolean;
  /** Proven: no topological order has a lower peak. */
  lowerBoundBytes: number;
  /** Search states expanded (every state counted each time it is expanded, over all budget probes). */
  statesVisited: number;
  timeMs: number;
  /** Segments between cut operators, and how many of them needed a search. */
  segments: number;
  searchedSegments: number;
  /** Time when the global peak was settled (proven, or the search for it gave up). */
  provenAtMs: number;
}

/**
 * BTSearch (docs/ordering.md): the topological order with the least peak memory. The graph is cut into
 * segments every order runs one after another; each segment whose best known peak is above the global lower
 * bound is searched by budget probes ("is there an order of this segment with every step ≤ B?"), each a
 * depth-first backtracking over the set of operators run, with failed states remembered, memory-freeing
 * operators run eagerly, and a bisection on B between the segment's proven lower bound and its incumbent.
 */
export function btsearch(graph: MemoryGraph, options: BTSearchOptions = {}): BTSearchResult {
  const started = performance.now();
  const deadline = started + (options.timeLimitMs ?? Number.POSITIVE_INFINITY);
  const index = new MemoryIndex(graph, options.inplace ?? true);
  const incumbents = options.incumbents !== undefined && options.incumbents.length > 0 ? options.incumbents : [greedyOrder(graph, index)];
  for (const order of incumbents) checkOrder(graph, order, index);
  const segments = segmentsOf(index, incumbents[0]!);
  const segmentOf = new Int32Array(index.opCount);
  segments.forEach((segment, k) => segment.forEach((op) => (segmentOf[op] = k)));

  // Each segment starts from the incumbent whose own run through that segment peaks lowest.
  const upper = new Array<number>(segments.length).fill(Number.POSITIVE_INFINITY);
  const chosen = new Array<number[]>(segments.length);
  for (const order of incumbents) {
    const peaks = new Array<number>(segments.length).fill(0);
    const state = new MemoryState(index);
    for (const op of order) peaks[segmentOf[op]!] = Math.max(peaks[segmentOf[op]!]!, state.apply(op));
    segments.forEach((_, k) => {
      if (peaks[k]! < upper[k]!) {
        upper[k] = peaks[k]!;
        chosen[k] = order.filter((op) => segmentOf[op] === k);
      }
    });
  }
  const lower = new Array<number>(segments.length).fill(0);
  {
    const state = new MemoryState(index);
    segments.forEach((segment, k) => {
      lower[k] = segment.length === 1 ? upper[k]! : segmentLowerBound(index, state, segment);
      for (const op of chosen[k]!) state.apply(op);
    });
  }
  let globalLower = Math.max(index.initialResident, ...lower);
  let statesVisited = 0;
  let searchedSegments = 0;

  const searches = new Map<number, SegmentSearch>();
  let phaseDeadline = deadline;
  // Bisects segment k's budget until its peak is proven optimal or no higher than `floor`.
  const solve = (k: number, floor: () => number): void => {
    let search = searches.get(k);
    if (search === undefined) {
      searchedSegments++;
      const state = new MemoryState(index);
      for (let j = 0; j < k; j++) for (const op of chosen[j]!) state.apply(op);
      search = new SegmentSearch(state, segments[k]!, phaseDeadline, options.maxRememberedStates ?? 4_000_000);
      searches.set(k, search);
    }
    search.deadline = phaseDeadline;
    while (lower[k]! < upper[k]! && upper[k]! > floor() && performance.now() <= phaseDeadline) {
      const low = Math.max(lower[k]!, floor());
      const budget = low + Math.floor((upper[k]! - 1 - low) / 2);
      const found = search.probe(budget);
      if (found === 'timeout') break;
      if (found === 'infeasible') {
        lower[k] = budget + 1;
        globalLower = Math.max(globalLower, lower[k]!);
      } else {
        chosen[k] = found.order;
        upper[k] = found.peak;
      }
      if (options.onProgress !== undefined) {
        const peakBytes = Math.max(index.initialResident, ...upper);
        options.onProgress({ elapsedMs: performance.now() - started, peakBytes, lowerBoundBytes: Math.min(globalLower, peakBytes) });
      }
    }
  };
  const byUpper = segments.map((_, k) => k).sort((a, b) => upper[b]! - upper[a]! || a - b);
  // First the global peak: only segments above the global lower bound matter for it.
  for (const k of byUpper) if (upper[k]! > globalLower) solve(k, () => globalLower);
  const provenAtMs = performance.now() - started;
  // Then, with time left, every segment to its own optimum, so the order is least-memory everywhere.
  phaseDeadline = Math.min(deadline, performance.now() + (options.everySegmentMs ?? EVERY_SEGMENT_MS));
  if (options.everySegment ?? true) for (const k of byUpper) if (lower[k]! < upper[k]!) solve(k, () => 0);
  for (const search of searches.values()) statesVisited += search.statesVisited;

  const order = chosen.flat();
  const peakBytes = Math.max(index.initialResident, ...upper);
  return {
    order,
    peakBytes,
    optimal: peakBytes <= globalLower,
    lowerBoundBytes: Math.min(globalLower, peakBytes),
    statesVisited,
    timeMs: performance.now() - started,
    segments: segments.length,
    searchedSegments,
    provenAtMs,
  };
}

/** The budget probes of one segment, sharing the table of states proven infeasible. */
class SegmentSearch {
  statesVisited = 0;
  /** States from which no completion fits a budget, with the largest such budget. */
  private readonly failed = new FailedStates();
  /** The state: bitset of the segment's operators run, and its Zobrist hash in two 32-bit halves. */
  private readonly bits: Uint16Array;
  private hashLow = 0;
  private hashHigh = 0;
  private readonly zobristLow: Int32Array;
  private readonly zobristHigh: Int32Array;
  private readonly local: Map<number, number>;
  /** Segment operators ready to run in the current state. */
  private readonly ready: number[];

  constructor(
    private readonly state: MemoryState,
    private readonly segment: number[],
    public deadline: number,
    private readonly maxRemembered: number,
  ) {
    this.bits = new Uint16Array(Math.ceil(segment.length / 16));
    this.local = new Map(segment.map((op, i) => [op, i]));
    this.ready = segment.filter((op) => state.isReady(op));
    const random = mulberry32(0x5eed);
    this.zobristLow = Int32Array.from(segment, () => random() * 2 ** 32);
    this.zobristHigh = Int32Array.from(segment, () => random() * 2 ** 32);
  }

  /** 53 bits of the state's hash, as an exact number key. */
  private hash(): number {
    return (this.hashHigh >>> 0) * 2 ** 21 + (this.hashLow >>> 11);
  }

  private toggle(op: number): void {
    const i = this.local.get(op)!;
    this.bits[i >>> 4]! ^= 1 << (i & 15);
    this.hashLow ^= this.zobristLow[i]!;
    this.hashHigh ^= this.zobristHigh[i]!;
  }

  /** Runs `op` and updates the bitset and the ready list; returns the live bytes while it ran. */
  private run(op: number): number {
    const step = this.state.apply(op);
    this.toggle(op);
    const { ready } = this;
    ready.splice(ready.indexOf(op), 1);
    for (const s of this.state.index.successors[op]!) if (this.state.waitingFor[s] === 0 && this.local.has(s)) ready.push(s);
    return step;
  }

  /** Takes back `op`, the last operator run. */
  private unrun(op: number): void {
    const { ready } = this;
    for (const s of this.state.index.successors[op]!)
      if (this.state.waitingFor[s] === 0 && this.local.has(s)) ready.splice(ready.lastIndexOf(s), 1);
    this.state.undo(op);
    this.toggle(op);
    ready.push(op);
  }

  /**
   * The operators worth trying next under `budget`. If a ready operator does not raise resident memory and
   * fits the budget, running it first never hurts (docs/ordering.md, eager rule), so it is the only choice.
   */
  private choices(budget: number): number[] {
    const { state } = this;
    const fitting: { op: number; delta: number; step: number }[] = [];
    let eager = -1;
    for (const op of this.ready) {
      const step = state.stepBytes(op);
      if (step > budget) continue;
      const delta = state.residentDelta(op);
      if (delta <= 0 && (eager < 0 || op < eager)) eager = op;
      fitting.push({ op, delta, step });
    }
    if (eager >= 0) return [eager];
    fitting.sort((a, b) => a.delta - b.delta || a.step - b.step || a.op - b.op);
    return fitting.map((c) => c.op);
  }

  /** An order of the segment with every step ≤ budget, or proof that none exists, or 'timeout'. */
  probe(budget: number): { order: number[]; peak: number } | 'infeasible' | 'timeout' {
    const { segment } = this;
    const path: number[] = [];
    const steps: number[] = [];
    const frames: { choices: number[]; next: number }[] = [];
    const unwind = () => {
      while (path.length > 0) retreat();
    };
    const enter = (): boolean => {
      if (this.failed.get(this.hash(), this.bits) >= budget) return false;
      this.statesVisited++;
      frames.push({ choices: this.choices(budget), next: 0 });
      return true;
    };
    const retreat = () => {
      steps.pop();
      this.unrun(path.pop()!);
    };
    enter();
    let sinceClockCheck = 0;
    for (;;) {
      if (path.length === segment.length) {
        const order = [...path];
        const peak = steps.reduce((a, b) => Math.max(a, b), 0);
        unwind();
        return { order, peak };
      }
      if (++sinceClockCheck === 4096) {
        sinceClockCheck = 0;
        if (performance.now() > this.deadline) {
          unwind();
          return 'timeout';
        }
      }
      const frame = frames[frames.length - 1]!;
      if (frame.next < frame.choices.length) {
        const op = frame.choices[frame.next++]!;
        steps.push(this.run(op));
        path.push(op);
        if (!enter()) retreat();
        continue;
      }
      if (this.failed.size >= this.maxRemembered) this.failed.clear();
      // Every branch from here failed; the search is back at this frame's state.
      this.failed.set(this.hash(), this.bits, budget);
      frames.pop();
      if (frames.length === 0) return 'infeasible';
      retreat();
    }
  }
}
