import type { MemoryGraph } from './graph.ts';
import { checkOrder } from './model.ts';
import { MemoryIndex, MemoryState } from './state.ts';

/**
 * One block of the arena: a buffer, or a chain of buffers handed on in place (an element-wise output written
 * over its dying input keeps the input's bytes). Live during steps first..last of the order, inclusive.
 */
export interface ArenaBlock {
  bytes: number;
  first: number;
  last: number;
  /** Activation tensor ids stored in this block (views and in-place successors share it). */
  tensors: number[];
}

export interface ArenaPlan {
  /** Size of the one buffer holding every activation. */
  arenaBytes: number;
  blocks: ArenaBlock[];
  /** offsets[i]: byte offset of blocks[i]. */
  offsets: number[];
  /** Which placement produced it (docs/memory.md, "Arena"). */
  method: string;
}

/** The blocks and their lifetimes for an order, under the memory model's rules. */
export function arenaBlocks(graph: MemoryGraph, order: number[], options: { inplace?: boolean } = {}): ArenaBlock[] {
  const index = new MemoryIndex(graph, options.inplace ?? true);
  checkOrder(graph, order, index);
  const n = order.length;
  const last = Math.max(0, n - 1);
  // Block of each buffer root; in-place outputs join their source's block.
  const blockOf = new Map<number, number>();
  const blocks: ArenaBlock[] = [];
  const open = (root: number, step: number) => {
    blockOf.set(root, blocks.length);
    blocks.push({ bytes: index.bufferBytes[root]!, first: step, last: index.pinned[root] === 1 ? last : step, tensors: [] });
  };
  for (const t of graph.graphInputs) if (index.bufferOf[t] === t) open(t, 0);
  const state = new MemoryState(index);
  order.forEach((op, step) => {
    const source = state.inplaceSource(op);
    for (const b of index.inputBuffers[op]!) {
      const block = blocks[blockOf.get(b)!]!;
      block.last = Math.max(block.last, step);
    }
    index.freshOutputs[op]!.forEach((t) => {
      if (source >= 0 && t === graph.ops[op]!.outputs[0]) {
        const block = blockOf.get(source)!;
        blockOf.set(t, block);
        if (index.pinned[t] === 1) blocks[block]!.last = last;
      } else {
        open(t, step);
      }
    });
    state.apply(op);
  });
  graph.tensorNames.forEach((_, t) => {
    const block = blockOf.get(index.bufferOf[t]!);
    if (block !== undefined) blocks[block]!.tensors.push(t);
  });
  return blocks;
}

const overlaps = (a: ArenaBlock, b: ArenaBlock) => a.first <= b.last && b.first <= a.last;

/**
 * Places blocks one by one in the given sequence, each at the lowest offset (first fit) or in the smallest
 * gap (best fit) that clears every already placed block whose lifetime overlaps its own.
 */
export function placeBlocks(blocks: ArenaBlock[], sequence: number[], fit: 'first' | 'best'): { offsets: number[]; arenaBytes: number } {
  const offsets = new Array<number>(blocks.length).fill(-1);
  const placed: number[] = [];
  let arenaBytes = 0;
  for (const i of sequence) {
    const block = blocks[i]!;
    const busy = placed.filter((j) => overlaps(blocks[j]!, block)).sort((a, b) => offsets[a]! - offsets[b]!);
    let chosen = -1;
    let chosenGap = Number.POSITIVE_INFINITY;
    let cursor = 0;
    for (const j of busy) {
      const gap = offsets[j]! - cursor;
      if (gap >= block.bytes && (fit === 'first' ? chosen < 0 : gap < chosenGap)) {
        chosen = cursor;
        chosenGap = gap;
      }
      cursor = Math.max(cursor, offsets[j]! + blocks[j]!.bytes);
    }
    if (chosen < 0) chosen = cursor;
    offsets[i] = chosen;
    placed.push(i);
    arenaBytes = Math.max(arenaBytes, chosen + block.bytes);
  }
  return { offsets, arenaBytes };
}

/** TFLite's arena planner: largest block first, each at the lowest offset that fits. */
export function greedyBySize(blocks: ArenaBlock[]): ArenaPlan {
  const sequence = blocks.map((_, i) => i).sort((a, b) => blocks[b]!.bytes - blocks[a]!.bytes || blocks[a]!.first - blocks[b]!.first);
  return { blocks, ...placeBlocks(blocks, sequence, 'first'), method: 'greedy-by-size' };
}

/**
 * The better search: several placement sequences (by size, by start, by lifetime length, by size × lifetime,
 * by the live bytes at the block's busiest step) each with first fit and best fit; the smallest arena wins.
 * Never worse than greedy by size, which is among the candidates.
 */
export function planArena(blocks: ArenaBlock[]): ArenaPlan {
  const ids = blocks.map((_, i) => i);
  const length = (b: ArenaBlock) => b.last - b.first + 1;
  const steps = blocks.reduce((m, b) => Math.max(m, b.last + 1), 0);
  const live = new Float64Array(steps);
  for (const b of blocks) for (let s = b.first; s <= b.last; s++) live[s]! += b.bytes;
  const pressure = blocks.map((b) => {
    let max = 0;
    for (let s = b.first; s <= b.last; s++) max = Math.max(max, live[s]!);
    return max;
  });
  const orderings: [string, (a: number, b: number) => number][] = [
    ['size', (a, b) => blocks[b]!.bytes - blocks[a]!.bytes || blocks[a]!.first - blocks[b]!.first],
    ['start', (a, b) => blocks[a]!.first - blocks[b]!.first || blocks[b]!.bytes - blocks[a]!.bytes],
    ['lifetime', (a, b) => length(blocks[b]!) - length(blocks[a]!) || blocks[b]!.bytes - blocks[a]!.bytes],
    ['area', (a, b) => blocks[b]!.bytes * length(blocks[b]!) - blocks[a]!.bytes * length(blocks[a]!) || a - b],
    ['pressure', (a, b) => pressure[b]! - pressure[a]! || blocks[b]!.bytes - blocks[a]!.bytes || blocks[a]!.first - blocks[b]!.first],
  ];
  let best = greedyBySize(blocks);
  for (const [name, compare] of orderings) {
    const sequence = [...ids].sort(compare);
    for (const fit of ['first', 'best'] as const) {
      const plan = placeBlocks(blocks, sequence, fit);
      if (plan.arenaBytes < best.arenaBytes) best = { blocks, ...plan, method: `${name}/${fit}-fit` };
    }
  }
  return best;
}

/** The arena's lower bound: the most bytes live at one step (the order's peak, activations only). */
export function arenaLowerBound(blocks: ArenaBlock[]): number {
  const steps = blocks.reduce((m, b) => Math.max(m, b.last + 1), 0);
  const live = new Float64Array(Math.max(1, steps));
  for (const b of blocks) for (let s = b.first; s <= b.last; s++) live[s]! += b.bytes;
  return live.reduce((a, b) => Math.max(a, b), 0);
}

/** Pairs of blocks whose lifetimes overlap and whose byte ranges intersect; empty for a valid plan. */
export function arenaConflicts(plan: ArenaPlan): [number, number][] {
  const conflicts: [number, number][] = [];
  const { blocks, offsets } = plan;
  for (let i = 0; i < blocks.length; i++) {
    for (let j = i + 1; j < blocks.length; j++) {
      if (!overlaps(blocks[i]!, blocks[j]!)) continue;
      const a = offsets[i]!;
      const b = offsets[j]!;
      if (a < b + blocks[j]!.bytes && b < a + blocks[i]!.bytes && blocks[i]!.bytes > 0 && blocks[j]!.bytes > 0) conflicts.push([i, j]);
    }
  }
  return conflicts;
}
