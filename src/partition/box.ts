import type { Box } from './types.ts';

export function fullBox(shape: readonly number[]): Box {
  return shape.map((s) => [0, s] as [number, number]);
}

export function isEmpty(box: Box): boolean {
  for (let i = 0; i < box.length; i++) if (box[i]![1] <= box[i]![0]) return true;
  return false;
}

export function boxVolume(box: Box): number {
  let v = 1;
  for (let i = 0; i < box.length; i++) {
    const range = box[i]!;
    if (range[1] <= range[0]) return 0;
    v *= range[1] - range[0];
  }
  return v;
}

export function boxShape(box: Box): number[] {
  return box.map(([a, b]) => Math.max(0, b - a));
}

/** The common part of two boxes (an operand itself when it lies inside the other). */
export function intersect(a: Box, b: Box): Box {
  if (within(a, b)) return a;
  if (within(b, a)) return b;
  return a.map((r, i) => [Math.max(r[0], b[i]![0]), Math.min(r[1], b[i]![1])]);
}

/** The smallest box containing both (an empty operand is ignored). */
export function hull(a: Box | null, b: Box | null): Box | null {
  if (a === null || isEmpty(a)) return b === null || isEmpty(b) ? null : b;
  if (b === null || isEmpty(b)) return a;
  if (within(b, a)) return a;
  if (within(a, b)) return b;
  return a.map((r, i) => [Math.min(r[0], b[i]![0]), Math.max(r[1], b[i]![1])]);
}

export function sameBox(a: Box, b: Box): boolean {
  return a.length === b.length && a.every(([s, e], i) => s === b[i]![0] && e === b[i]![1]);
}

/** True when the two boxes share an element. */
export function overlaps(a: Box, b: Box): boolean {
  for (let i = 0; i < a.length; i++) if (Math.max(a[i]![0], b[i]![0]) >= Math.min(a[i]![1], b[i]![1])) return false;
  return true;
}

/** Every range of `inner` inside `outer`'s (for non-empty boxes: the region lies inside the other). */
function within(inner: Box, outer: Box): boolean {
  for (let i = 0; i < inner.length; i++) if (inner[i]![0] < outer[i]![0] || inner[i]![1] > outer[i]![1]) return false;
  return true;
}

export function containsBox(outer: Box, inner: Box): boolean {
  return isEmpty(inner) || inner.every(([s, e], i) => s >= outer[i]![0] && e <= outer[i]![1]);
}

/** The box with one axis replaced by [start, end). */
export function withAxis(box: Box, axis: number, start: number, end: number): Box {
  const copy = box.map((r) => [r[0], r[1]] as [number, number]);
  copy[axis] = [start, end];
  return copy;
}

/**
 * Elements covered by the union of boxes (overlaps counted once). Axes on which all boxes agree factor out;
 * the rest are swept by coordinate compression, which is cheap because pieces of one tensor differ on one or
 * two axes.
 */
export function unionVolume(boxes: readonly Box[]): number {
  const live = boxes.filter((b) => !isEmpty(b));
  if (live.length === 0) return 0;
  let largest = live[0]!;
  for (const b of live) if (boxVolume(b) > boxVolume(largest)) largest = b;
  if (live.every((b) => within(b, largest))) return boxVolume(largest);
  const rank = live[0]!.length;
  let common = 1;
  const varying: number[] = [];
  for (let axis = 0; axis < rank; axis++) {
    const [s, e] = live[0]![axis]!;
    if (live.every((b) => b[axis]![0] === s && b[axis]![1] === e)) common *= e - s;
    else varying.push(axis);
  }
  return common * (varying.length === 1 ? coveredLength(live, varying[0]!) : sweep(live, varying, 0));
}

/** Length of the union of the boxes' ranges on one axis. */
function coveredLength(boxes: readonly Box[], axis: number): number {
  const ranges = boxes.map((b) => b[axis]!).sort((x, y) => x[0] - y[0]);
  let total = 0;
  let end = -Infinity;
  for (const [s, e] of ranges) {
    if (e <= end) continue;
    total += e - Math.max(s, end);
    end = e;
  }
  return total;
}

function sweep(boxes: readonly Box[], axes: readonly number[], depth: number): number {
  if (boxes.length === 0) return 0;
  if (depth === axes.length) return 1;
  const axis = axes[depth]!;
  const cuts = [...new Set(boxes.flatMap((b) => [b[axis]![0], b[axis]![1]]))].sort((x, y) => x - y);
  let total = 0;
  for (let i = 0; i + 1 < cuts.length; i++) {
    const lo = cuts[i]!;
    const hi = cuts[i + 1]!;
    const covering = boxes.filter((b) => b[axis]![0] <= lo && b[axis]![1] >= hi);
    if (covering.length > 0) total += (hi - lo) * sweep(covering, axes, depth + 1);
  }
  return total;
}
