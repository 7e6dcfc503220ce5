import type { MemoryIndex, MemoryState } from '../memory/state.ts';

/** Above this many operators a segment's reachability is not tabulated and only the trivial bound is used. */
const REACHABILITY_LIMIT = 4000;

/**
 * A lower bound on the live bytes while each operator of a segment runs, valid for every order of the
 * segment from `state` (the state when the segment starts; docs/ordering.md): the buffers that are live at
 * that step in every order (produced by an ancestor or before the segment, and pinned or still read by the
 * operator itself, a descendant or a later segment) plus the operator's fresh outputs, less output 0 when it
 * might be written in place. Returns the maximum over the segment's operators.
 */
export function segmentLowerBound(index: MemoryIndex, state: MemoryState, segment: number[]): number {
  const m = segment.length;
  const local = new Map<number, number>();
  segment.forEach((op, i) => local.set(op, i));
  const words = Math.ceil(m / 32);
  const tabulate = m <= REACHABILITY_LIMIT;
  // desc[i]: bitset of the segment operators reachable from segment[i] (segment is in topological order).
  const desc = tabulate ? Array.from({ length: m }, () => new Uint32Array(words)) : [];
  if (tabulate) {
    for (let i = m - 1; i >= 0; i--) {
      const mine = desc[i]!;
      for (const s of index.successors[segment[i]!]!) {
        const j = local.get(s);
        if (j === undefined) continue;
        mine[j >>> 5]! |= 1 << (j & 31);
        const theirs = desc[j]!;
        for (let w = 0; w < words; w++) mine[w]! |= theirs[w]!;
      }
    }
  }
  const reaches = (i: number, j: number): boolean => tabulate && (desc[i]![j >>> 5]! & (1 << (j & 31))) !== 0;

  // Per buffer that matters here: its bytes, its producer inside the segment (-1: produced before), whether
  // it outlives the segment, and its readers inside the segment.
  interface Candidate {
    bytes: number;
    producer: number;
    outlives: boolean;
    readers: number[];
  }
  const candidates = new Map<number, Candidate>();
  const candidate = (buffer: number, producer: number): Candidate => {
    let c = candidates.get(buffer);
    if (c === undefined) {
      c = { bytes: index.bufferBytes[buffer]!, producer, outlives: index.pinned[buffer] === 1, readers: [] };
      candidates.set(buffer, c);
    }
    return c;
  };
  segment.forEach((op, i) => {
    for (const t of index.freshOutputs[op]!) candidate(t, i);
  });
  const readsInSegment = new Map<number, number>();
  segment.forEach((op, i) => {
    for (const b of index.inputBuffers[op]!) {
      const producer = index.producer[b]!;
      const c = candidate(b, producer >= 0 && local.has(producer) ? local.get(producer)! : -1);
      c.readers.push(i);
      readsInSegment.set(b, (readsInSegment.get(b) ?? 0) + 1);
    }
  });
  for (const [buffer, c] of candidates) {
    const readersLeft = c.producer === -1 ? state.remaining[buffer]! : index.bufferUses[buffer]!;
    if (readersLeft > (readsInSegment.get(buffer) ?? 0)) c.outlives = true;
  }

  // Buffers live at the start that no segment operator reads stay live through the whole segment.
  let passingThrough = state.resident;
  for (const c of candidates.values()) if (c.producer === -1) passingThrough -= c.bytes;
  let best = 0;
  segment.forEach((op, i) => {
    let live = passingThrough;
    const own = new Set(index.freshOutputs[op]!);
    for (const [buffer, c] of candidates) {
      if (own.has(buffer)) continue;
      const producedBefore = c.producer === -1 || reaches(c.producer, i);
      if (!producedBefore) continue;
      if (c.outlives || c.readers.some((r) => r === i || reaches(i, r))) live += c.bytes;
    }
    let allocated = 0;
    for (const t of own) allocated += index.bufferBytes[t]!;
    const inplace = index.inplaceBytes[op]!;
    if (inplace >= 0 && index.inputBuffers[op]!.some((b) => index.pinned[b] === 0 && index.bufferBytes[b] === inplace))
      allocated -= inplace;
    best = Math.max(best, live + allocated);
  });
  return best;
}
