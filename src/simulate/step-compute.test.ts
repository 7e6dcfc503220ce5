import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Cluster, Device } from '../cluster/types.ts';
import { threeConvs } from '../fit/testing.ts';
import type { OpDecision } from '../partition/types.ts';
import { createSimulator } from './simulate.ts';

// threeConvs (conv1 4608, conv2 18432, conv3 512 FLOPs over 8 output rows each) split by rows over two devices of
// 1 GFLOP/s (1 FLOP = 1e-6 ms), conv1 and conv2 fused into conv3 in 2 sub-tiles per device; every step costs 1 ms
// and a rows slice +50%.
const overheads = { stepMs: 1, msPerMiB: 0, splitPenalty: { rows: 0.5 } };
const device = (name: string): Device => ({
  name,
  gflops: 1,
  memoryMB: 64,
  uplinkMbps: 8,
  downlinkMbps: 8,
  latencyMs: 1,
  profile: { format: 'memorianova-profile', version: 1, overheads },
});
const cluster: Cluster = {
  name: 'two',
  devices: [device('d0'), device('d1')],
  router: { name: 'router', latencyMs: 0.5, broadcast: true },
};
const rows = { dim: 'rows' as const, ratios: [1, 1] };
const decisions: OpDecision[] = [
  { op: 'conv1', placement: rows, sync: false },
  { op: 'conv2', placement: rows, sync: false },
  { op: 'conv3', placement: rows, sync: true, tiles: 2 },
];

test("per-step predicted compute, worked out by hand on a tiled stretch, sums to the simulator's device compute", () => {
  const sim = createSimulator(threeConvs(), cluster, ['conv1', 'conv2', 'conv3']);
  const steps = sim.steps(decisions);
  const result = sim.run(decisions, { timeline: false });
  // Device 0's sub-tile 0 computes a rows [0,3), b and y rows [0,2): (3 × 576 + 2 × 2304 + 2 × 64) × 1e-6 ms
  // = 0.006464 ms, × 1.5 = 0.009696, + 1 ms; sub-tile 1 a rows [1,5): (4 × 576 + 2 × 2304 + 2 × 64) × 1e-6 = 0.00704,
  // × 1.5 = 0.01056, + 1 ms.
  assert.equal(steps[0]!.length, 2);
  assert.deepEqual(
    steps[0]!.map((s) => s.positions),
    [
      [0, 1, 2],
      [0, 1, 2],
    ],
  );
  const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} vs ${b}`);
  close(steps[0]![0]!.slicesMs, 0.009696);
  close(steps[0]![0]!.overheadMs, 1);
  close(steps[0]![0]!.ms, 1.009696);
  close(steps[0]![1]!.ms, 1.01056);
  for (let d = 0; d < 2; d++)
    close(
      steps[d]!.reduce((n, s) => n + s.ms, 0),
      result.devices[d]!.computeMs,
    );
});
