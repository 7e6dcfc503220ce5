import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Cluster, Device } from '../cluster/types.ts';
import { threeConvs } from '../fit/testing.ts';
import type { OpDecision, Placement } from '../partition/types.ts';
import { makePlan } from '../plan/build.ts';
import { validatePlan } from '../plan/io.ts';
import { createSimulator } from './simulate.ts';

// docs/partition.md, "Grids": threeConvs (x 1×1×8×8 → conv1 3×3 pad 1 → a 1×4×8×8 → conv2 3×3 pad 1 → b 1×4×8×8 →
// conv3 1×1 → y 1×1×8×8, float32), conv1 and conv2 fused into conv3, on four equal devices: a 2×2 grid against
// four row stripes.
const device = (name: string): Device => ({ name, gflops: 1, memoryMB: 64, uplinkMbps: 8, downlinkMbps: 8, latencyMs: 1 });
const cluster: Cluster = {
  name: 'four',
  devices: [device('d0'), device('d1'), device('d2'), device('d3')],
  router: { name: 'router', latencyMs: 0.5, broadcast: true },
  medium: 'shared',
};
const order = ['conv1', 'conv2', 'conv3'];
const grid: Placement = { dim: 'grid', rows: [1, 1], cols: [1, 1], devices: [0, 1, 2, 3] };
const stripes: Placement = { dim: 'rows', ratios: [1, 1, 1, 1] };
const fused = (placement: Placement, tiles?: number): OpDecision[] => [
  { op: 'conv1', placement, sync: false },
  { op: 'conv2', placement, sync: false },
  { op: 'conv3', placement, sync: true, ...(tiles === undefined ? {} : { tiles }) },
];

test('2×2 grid of a fused conv stack on four devices: tiles, halos, pads, FLOPs and bytes worked out by hand', () => {
  const model = threeConvs();
  const sim = createSimulator(model, cluster, order);
  const slices = sim.slices(fused(grid));
  // Device 1 owns y rows [0,4) × columns [4,8); b the same (1×1 conv); a one more on each inner side: rows [0,5) ×
  // columns [3,8); x rows [0,6) × columns [2,8).
  const box = (p: number, d: number) => slices.ops[p]!.slices[d]!.outputs[0]!.slice(2);
  assert.deepEqual(box(2, 1), [
    [0, 4],
    [4, 8],
  ]);
  assert.deepEqual(box(1, 1), [
    [0, 4],
    [4, 8],
  ]);
  assert.deepEqual(box(0, 1), [
    [0, 5],
    [3, 8],
  ]);
  assert.deepEqual(slices.ops[0]!.slices[1]!.inputs[0]!.slice(2), [
    [0, 6],
    [2, 8],
  ]);
  // Pads [top, left, bottom, right]: the operator's own pad only on the image border the tile touches.
  assert.deepEqual(
    [0, 1, 2, 3].map((d) => slices.ops[0]!.slices[d]!.overrides!.pads),
    [
      [1, 1, 0, 0],
      [1, 0, 0, 1],
      [0, 1, 1, 0],
      [0, 0, 1, 1],
    ],
  );
  // FLOPs per output pixel: conv1 4608 / 64 = 72, conv2 18432 / 64 = 288, conv3 512 / 64 = 8. Every tile computes
  // 25 pixels of a, 16 of b and y: 1800 + 4608 + 128 = 6536. Stripes of 2 rows: the outer ones 3 rows of a (24 px),
  // the inner ones 4 (32 px): 1728 + 4608 + 128 = 6464 and 2304 + 4608 + 128 = 7040.
  const gridResult = sim.run(fused(grid), { timeline: false });
  const stripeResult = sim.run(fused(stripes), { timeline: false });
  assert.deepEqual(
    gridResult.devices.map((d) => d.flops),
    [6536, 6536, 6536, 6536],
  );
  assert.deepEqual(
    stripeResult.devices.map((d) => d.flops),
    [6464, 7040, 7040, 6464],
  );
  // Bytes: each tile receives 6×6 pixels of x (144 B) and returns 16 pixels of y (64 B): 4 × 208 = 832 B. Stripes
  // receive 4, 6, 6, 4 rows of x (128, 192, 192, 128 B) and return 2 rows of y (64 B each): 896 B.
  assert.equal(gridResult.bytesMoved, 832);
  assert.equal(stripeResult.bytesMoved, 896);
  assert.equal(gridResult.messages, 8);
  // Activation peaks while conv2 runs (x is freed after conv1): a 25 px × 4 channels × 4 B = 400 B + b 16 px × 16 B =
  // 256 B on every tile; stripes a 3 or 4 rows × 8 × 16 B (384, 512 B) + b 2 rows (256 B).
  assert.deepEqual(
    gridResult.devices.map((d) => d.activationPeakBytes),
    [656, 656, 656, 656],
  );
  assert.deepEqual(
    stripeResult.devices.map((d) => d.activationPeakBytes),
    [640, 768, 768, 640],
  );
  assert.ok(gridResult.latencyMs >= gridResult.lowerBoundMs);
});

test('grid with sub-tiles: each tile is cut along its rows', () => {
  const model = threeConvs();
  const sim = createSimulator(model, cluster, order);
  const stretch = sim.slices(fused(grid, 2)).tiled![0]!;
  // Device 3 owns y rows [4,8) × columns [4,8): sub-tiles rows [4,6) and [6,8), columns kept.
  assert.deepEqual(
    stretch.devices[3]!.map((tile) => tile[2]!.outputs[0]!.slice(2)),
    [
      [
        [4, 6],
        [4, 8],
      ],
      [
        [6, 8],
        [4, 8],
      ],
    ],
  );
  // Sub-tile 0's a: rows [3,7) × columns [3,8).
  assert.deepEqual(stretch.devices[3]![0]![0]!.outputs[0]!.slice(2), [
    [3, 7],
    [3, 8],
  ]);
  const untiled = sim.run(fused(grid), { timeline: false });
  const tiled = sim.run(fused(grid, 2), { timeline: false });
  assert.equal(tiled.bytesMoved, untiled.bytesMoved);
  // Device 3's sub-tile 0 computes 4 × 5 pixels of a, sub-tile 1 (at the bottom border) rows [5,8): 3 × 5; with b and
  // y unchanged: 35 × 72 + 4608 + 128 = 7256 FLOPs (every device alike, by symmetry).
  assert.deepEqual(
    tiled.devices.map((d) => d.flops),
    [7256, 7256, 7256, 7256],
  );
});

test('grids: one-line errors for bad grid placements', () => {
  const model = threeConvs();
  const bad = (placement: Placement, message: RegExp) =>
    assert.throws(() => makePlan(model, cluster, order, fused(placement), 't'), message);
  bad({ ...grid, devices: [0, 1, 2] } as Placement, /'conv1' \(Conv\): a 2×2 grid needs 4 devices, got 3/);
  bad({ ...grid, devices: [0, 1, 1, 2] } as Placement, /grid device 1 is listed twice/);
  bad({ ...grid, devices: [0, 1, 2, 4] } as Placement, /grid device 4 does not exist \(the cluster has devices 0..3\)/);
  bad({ dim: 'grid', rows: [1], cols: [1], devices: [0] }, /a grid needs at least 2 tiles, got 1×1/);
  bad({ dim: 'grid', rows: [0, 0], cols: [1], devices: [0, 1] }, /grid rows ratios are all 0/);
  bad({ dim: 'grid', rows: [1, -1], cols: [1], devices: [0, 1] }, /grid rows ratios must be finite and >= 0/);
  // A plan file: the grid's fields are checked by the schema, then by the plan rules.
  const plan = makePlan(model, cluster, order, fused(grid), 't');
  const raw = JSON.parse(JSON.stringify(plan));
  assert.deepEqual(validatePlan(raw, model, 'plan file p.json').ops[0]!.placement, grid);
  raw.ops[0].placement = { dim: 'grid', rows: [1, 1], cols: [1, 1] };
  assert.throws(() => validatePlan(raw, model, 'plan file p.json'), /plan file p.json: ops\[0\]\.placement/);
});

test('grids are offered only where width cuts are exact', () => {
  const model = threeConvs();
  const sim = createSimulator(model, cluster, order);
  assert.deepEqual(
    sim.context.space.map((s) => s.grid && [s.grid.rows.axis, s.grid.colAxis, s.grid.colExtent]),
    [
      [2, 3, 8],
      [2, 3, 8],
      [2, 3, 8],
    ],
  );
});
