import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mulberry32 } from '../random.ts';
import { hull, intersect, unionVolume } from './box.ts';
import type { Box } from './types.ts';

function cells(boxes: readonly Box[]): number {
  const covered = new Set<string>();
  for (const box of boxes)
    for (let x = box[0]![0]; x < box[0]![1]; x++)
      for (let y = box[1]![0]; y < box[1]![1]; y++) for (let z = box[2]![0]; z < box[2]![1]; z++) covered.add(`${x},${y},${z}`);
  return covered.size;
}

test('unionVolume counts the cells of seeded random boxes once (nested, one varying axis, several)', () => {
  const random = mulberry32(7);
  const int = (n: number) => Math.floor(random() * n);
  for (let round = 0; round < 300; round++) {
    const count = 1 + int(4);
    const varying = round % 3;
    const boxes: Box[] = Array.from({ length: count }, () =>
      [0, 1, 2].map((axis): [number, number] => {
        if (axis > varying) return [0, 3];
        const s = int(6);
        return [s, s + int(4)];
      }),
    );
    assert.equal(unionVolume(boxes), cells(boxes), JSON.stringify(boxes));
  }
  assert.equal(
    unionVolume([
      [
        [0, 4],
        [0, 4],
      ],
      [
        [1, 2],
        [1, 3],
      ],
    ]),
    16,
  );
});

test('intersect and hull return an operand that already is the answer', () => {
  const outer: Box = [
    [0, 8],
    [0, 8],
  ];
  const inner: Box = [
    [2, 4],
    [1, 8],
  ];
  assert.equal(intersect(outer, inner), inner);
  assert.equal(hull(inner, outer), outer);
  assert.deepEqual(
    intersect(inner, [
      [3, 9],
      [0, 2],
    ]),
    [
      [3, 4],
      [1, 2],
    ],
  );
});
