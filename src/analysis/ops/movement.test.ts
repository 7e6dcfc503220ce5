import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { analyzeOne, shapesOf } from '../testing.ts';

const i64 = (values: number[]) => ({ shape: [values.length], dtype: 'int64' as const, value: values });
const INT64_MAX = 9223372036854775807;
const INT64_MIN = -9223372036854775808;

test('Slice with negative starts, clamped ends and negative steps', () => {
  assert.deepEqual(shapesOf('Slice', [{ shape: [10] }, i64([-3]), i64([INT64_MAX])]), [[3]]);
  // 8, 6, 4, 2
  assert.deepEqual(shapesOf('Slice', [{ shape: [10] }, i64([8]), i64([1]), i64([0]), i64([-2])]), [[4]]);
  assert.deepEqual(shapesOf('Slice', [{ shape: [10, 4] }, i64([-1]), i64([INT64_MIN]), i64([0]), i64([-1])]), [[10, 4]]);
  assert.deepEqual(shapesOf('Slice', [{ shape: [10, 4] }, i64([1]), i64([-1]), i64([-1])]), [[10, 2]]);
});

test('Slice attribute form before opset 10', () => {
  assert.deepEqual(shapesOf('Slice', [{ shape: [4, 10] }], { starts: [1, 2], ends: [3, 100], axes: [0, 1] }, { opset: 9 }), [[2, 8]]);
});

// ONNX clamps a backward start into [0, d−1] (numpy would leave it at −1 and give an empty slice).
test('property: Slice length equals brute-force enumeration of the selected indices', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: -20, max: 20 }),
      fc.integer({ min: -20, max: 20 }),
      fc.integer({ min: -4, max: 4 }).filter((s) => s !== 0),
      (d, start, end, step) => {
        const norm = (v: number) => (v < 0 ? v + d : v);
        let count = 0;
        if (step > 0) for (let i = Math.max(0, norm(start)); i < Math.min(d, norm(end)); i += step) count++;
        else for (let i = Math.min(d - 1, Math.max(0, norm(start))); i > Math.max(-1, norm(end)); i += step) count++;
        assert.deepEqual(shapesOf('Slice', [{ shape: [d] }, i64([start]), i64([end]), i64([0]), i64([step])]), [[count]]);
      },
    ),
    { seed: 7, numRuns: 300 },
  );
});

test('Split: attribute (opset 11), input (13), even, and num_outputs with a short last chunk (18)', () => {
  assert.deepEqual(shapesOf('Split', [{ shape: [6, 4] }], { split: [2, 4] }, { opset: 11, outputs: 2 }), [
    [2, 4],
    [4, 4],
  ]);
  assert.deepEqual(shapesOf('Split', [{ shape: [6, 4] }, i64([1, 3])], { axis: 1 }, { opset: 13, outputs: 2 }), [
    [6, 1],
    [6, 3],
  ]);
  assert.deepEqual(shapesOf('Split', [{ shape: [6, 4] }], {}, { outputs: 3 }), [
    [2, 4],
    [2, 4],
    [2, 4],
  ]);
  assert.deepEqual(shapesOf('Split', [{ shape: [10] }], { num_outputs: 4 }, { opset: 18, outputs: 4 }), [[3], [3], [3], [1]]);
});

test('Gather: indices shape replaces the axis', () => {
  assert.deepEqual(shapesOf('Gather', [{ shape: [5, 6] }, { shape: [2, 3], dtype: 'int64' }], { axis: 1 }), [[5, 2, 3]]);
  assert.deepEqual(shapesOf('Gather', [{ shape: [5, 6] }, { shape: [], dtype: 'int64', value: [-1] }]), [[6]]);
});

test('Concat on a negative axis; Transpose with and without perm', () => {
  assert.deepEqual(shapesOf('Concat', [{ shape: [2, 3] }, { shape: [2, 5] }], { axis: -1 }), [[2, 8]]);
  assert.deepEqual(shapesOf('Transpose', [{ shape: [2, 3, 4] }], { perm: [1, 2, 0] }), [[3, 4, 2]]);
  assert.deepEqual(shapesOf('Transpose', [{ shape: [2, 3, 4] }]), [[4, 3, 2]]);
});

test('Expand and Tile', () => {
  assert.deepEqual(shapesOf('Expand', [{ shape: [3, 1] }, i64([2, 1, 6])]), [[2, 3, 6]]);
  assert.deepEqual(shapesOf('Tile', [{ shape: [2, 3] }, i64([2, 2])]), [[4, 6]]);
});

test('Pad: attribute form (opset 2) and input form (11), with axes (18)', () => {
  assert.deepEqual(shapesOf('Pad', [{ shape: [1, 3, 4, 4] }], { pads: [0, 0, 1, 2, 0, 0, 1, 2] }, { opset: 2 }), [[1, 3, 6, 8]]);
  assert.deepEqual(shapesOf('Pad', [{ shape: [1, 3, 4, 4] }, i64([0, 0, 1, 1, 0, 0, 1, 1])], {}, { opset: 11 }), [[1, 3, 6, 6]]);
  assert.deepEqual(shapesOf('Pad', [{ shape: [1, 3, 4, 4] }, i64([2, 3]), '', i64([-1])], {}, { opset: 18 }), [[1, 3, 4, 9]]);
});

test('Resize by scales and by sizes; linear costs 3 FLOPs per output element and resized axis', () => {
  const scales = { shape: [4], value: [1, 1, 2, 2] };
  const { outputs, op } = analyzeOne('Resize', [{ shape: [1, 3, 4, 4] }, '', scales], { mode: 'linear' });
  assert.deepEqual(outputs[0]!.shape, [1, 3, 8, 8]);
  assert.equal(op.cost.flops, 3 * 2 * 3 * 64);
  assert.deepEqual(shapesOf('Resize', [{ shape: [1, 3, 4, 4] }, '', '', i64([1, 3, 5, 7])]), [[1, 3, 5, 7]]);
  assert.equal(analyzeOne('Resize', [{ shape: [1, 3, 4, 4] }, '', scales]).op.cost.flops, 0);
});

test('SpaceToDepth and DepthToSpace', () => {
  assert.deepEqual(shapesOf('SpaceToDepth', [{ shape: [1, 64, 38, 38] }], { blocksize: 2 }), [[1, 256, 19, 19]]);
  assert.deepEqual(shapesOf('DepthToSpace', [{ shape: [1, 256, 19, 19] }], { blocksize: 2 }), [[1, 64, 38, 38]]);
});

test('TopK gives values and int64 indices with k on the axis', () => {
  const { outputs } = analyzeOne('TopK', [{ shape: [3, 10] }, i64([4])], {}, { outputs: 2 });
  assert.deepEqual(
    outputs.map((o) => [o.dtype, o.shape]),
    [
      ['float32', [3, 4]],
      ['int64', [3, 4]],
    ],
  );
});
