import { fail } from '../errors.ts';
import { dtypeBits, type DType } from '../ir/dtype.ts';
import type { Weight } from '../ir/graph.ts';
import { weightBytes } from '../ir/weights.ts';
import { boxShape, boxVolume, containsBox, fullBox, isEmpty } from '../partition/box.ts';
import type { Box } from '../partition/types.ts';

/** A region of a tensor held in memory: the box it covers (in the full tensor's coordinates) and its raw bytes, row-major. */
export interface Region {
  box: Box;
  bytes: Uint8Array;
}

/** Bytes of one element; the runtime moves whole bytes, so sub-byte types (int4, ...) are refused. */
export function elementSize(dtype: DType, tensor: string): number {
  const bits = dtypeBits(dtype);
  if (bits % 8 !== 0)
    fail(`tensor '${tensor}' is ${dtype}: the runtime cannot cut ${bits}-bit elements into regions`, 'unsupported-operator');
  return bits / 8;
}

export function regionBytes(box: Box, elementBytes: number): number {
  return boxVolume(box) * elementBytes;
}

export function emptyRegion(box: Box, elementBytes: number): Region {
  return { box, bytes: new Uint8Array(regionBytes(box, elementBytes)) };
}

/**
 * Copies `part` (a box in full-tensor coordinates, inside both regions) from `src` into `dst`. Trailing axes that
 * both regions and the part cover whole are merged into one contiguous run, so a row split copies one block per row.
 */
export function copyRegion(src: Region, dst: Region, part: Box, elementBytes: number): void {
  if (isEmpty(part)) return;
  if (!containsBox(src.box, part) || !containsBox(dst.box, part)) throw new Error('copyRegion: part lies outside a region');
  const rank = part.length;
  const srcShape = boxShape(src.box);
  const dstShape = boxShape(dst.box);
  // run = elements copied per innermost block; `inner` = the first axis of the merged contiguous tail.
  let run = elementBytes;
  let inner = rank;
  while (inner > 0) {
    const a = inner - 1;
    const size = part[a]![1] - part[a]![0];
    run *= size;
    inner = a;
    if (size !== srcShape[a] || size !== dstShape[a]) break;
  }
  if (rank === 0) {
    dst.bytes.set(src.bytes.subarray(0, elementBytes));
    return;
  }
  const srcStrides = strides(srcShape, elementBytes);
  const dstStrides = strides(dstShape, elementBytes);
  const outer = part.slice(0, inner);
  const index = outer.map(([s]) => s);
  for (;;) {
    let s = 0;
    let d = 0;
    for (let a = 0; a < inner; a++) {
      s += (index[a]! - src.box[a]![0]) * srcStrides[a]!;
      d += (index[a]! - dst.box[a]![0]) * dstStrides[a]!;
    }
    s += (part[inner]![0] - src.box[inner]![0]) * srcStrides[inner]!;
    d += (part[inner]![0] - dst.box[inner]![0]) * dstStrides[inner]!;
    dst.bytes.set(src.bytes.subarray(s, s + run), d);
    let a = inner - 1;
    while (a >= 0) {
      index[a]!++;
      if (index[a]! < outer[a]![1]) break;
      index[a] = outer[a]![0];
      a--;
    }
    if (a < 0) return;
  }
}

function strides(shape: readonly number[], elementBytes: number): number[] {
  const out = new Array<number>(shape.length);
  let stride = elementBytes;
  for (let a = shape.length - 1; a >= 0; a--) {
    out[a] = stride;
    stride *= shape[a]!;
  }
  return out;
}

/** The part `box` of a held region, as a fresh region (the bytes are shared when the box is the whole region). */
export function extractRegion(src: Region, box: Box, elementBytes: number): Region {
  if (boxVolume(box) === boxVolume(src.box) && containsBox(box, src.box)) return { box, bytes: src.bytes };
  const dst = emptyRegion(box, elementBytes);
  copyRegion(src, dst, box, elementBytes);
  return dst;
}

export function boxKey(box: Box): string {
  return box.map(([s, e]) => `${s}:${e}`).join(',');
}

/**
 * The bytes of `box` of a weight, cut from the whole weight. Generated weights are generated whole on every call:
 * callers cutting many slices pass a model whose weights are inline (reference.ts, withInlineWeights).
 */
export function weightSlice(weight: Weight, box: Box): Uint8Array {
  return extractRegion({ box: fullBox(weight.shape), bytes: weightBytes(weight) }, box, elementSize(weight.dtype, weight.name)).bytes;
}
