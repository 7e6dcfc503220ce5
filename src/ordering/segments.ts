import type { MemoryIndex } from '../memory/state.ts';

/**
 * Splits the operators into segments that every topological order runs one after another (docs/ordering.md):
 * a cut operator is comparable with every other operator (each is its ancestor or its descendant), so it has
 * the same position in every order; the operators between two consecutive cuts form one segment, each cut a
 * segment of its own. `topo` is any topological order; segments come in that order, their operators too.
 */
export function segmentsOf(index: MemoryIndex, topo: number[]): number[][] {
  const n = topo.length;
  const predecessors: number[][] = Array.from({ length: index.opCount }, () => []);
  index.successors.forEach((list, op) => list.forEach((s) => predecessors[s]!.push(op)));
  const allBefore = comparableWithPrefix(topo, predecessors);
  const allAfter = comparableWithPrefix([...topo].reverse(), index.successors).reverse();
  const segments: number[][] = [];
  let current: number[] = [];
  for (let p = 0; p < n; p++) {
    if (allBefore[p] && allAfter[p]) {
      if (current.length > 0) segments.push(current);
      segments.push([topo[p]!]);
      current = [];
    } else {
      current.push(topo[p]!);
    }
  }
  if (current.length > 0) segments.push(current);
  return segments;
}

/**
 * result[p]: every operator before position p is an ancestor of order[p]. The prefix is closed under
 * predecessors, so that holds exactly when each maximal operator of the prefix (no successor inside it) is
 * a direct predecessor of order[p]; the count of maximal operators is kept as the prefix grows.
 */
function comparableWithPrefix(order: number[], predecessors: number[][]): boolean[] {
  const successorsInPrefix = new Int32Array(predecessors.length);
  let maximal = 0;
  const result: boolean[] = [];
  for (const op of order) {
    let maximalPredecessors = 0;
    for (const p of predecessors[op]!) if (successorsInPrefix[p] === 0) maximalPredecessors++;
    result.push(maximal === maximalPredecessors);
    for (const p of predecessors[op]!) if (successorsInPrefix[p]!++ === 0) maximal--;
    maximal++;
  }
  return result;
}
