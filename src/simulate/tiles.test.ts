import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Cluster, Device } from '../cluster/types.ts';
import { residualStack, threeConvs } from '../fit/testing.ts';
import { validatePlan } from '../plan/io.ts';
import type { OpDecision } from '../partition/types.ts';
import { makePlan } from '../plan/build.ts';
import { communication } from './comm.ts';
import { createSimulator } from './simulate.ts';
import { deviceSteps } from './steps.ts';

// docs/memory.md, "Tiled stretches on a cluster": threeConvs (x 1×1×8×8 → conv1 3×3 → a 1×4×8×8 → conv2 3×3 → b →
// conv3 1×1 → y 1×1×8×8, float32) split by rows over two equal devices, conv1 and conv2 fused into conv3.
const device = (name: string): Device => ({ name, gflops: 1, memoryMB: 64, uplinkMbps: 8, downlinkMbps: 8, latencyMs: 1 });
const cluster: Cluster = {
  name: 'two',
  devices: [device('d0'), device('d1')],
  router: { name: 'router', latencyMs: 0.5, broadcast: true },
};
const rows = { dim: 'rows' as const, ratios: [1, 1] };
const decisions = (tiles?: number): OpDecision[] => [
  { op: 'conv1', placement: rows, sync: false },
  { op: 'conv2', placement: rows, sync: false },
  { op: 'conv3', placement: rows, sync: true, ...(tiles === undefined ? {} : { tiles }) },
];

test('tiled stretch on two devices: sub-tile regions, FLOPs and per-device peaks worked out by hand', () => {
  const model = threeConvs();
  const order = ['conv1', 'conv2', 'conv3'];
  const sim = createSimulator(model, cluster, order);
  const untiled = sim.run(decisions(), { timeline: false });
  const tiled = sim.run(decisions(2), { timeline: false });
  // Sub-tiles of device 0 own y rows [0,2) and [2,4): b rows 0-1 and 2-3, a rows 0-2 and 1-4; device 1's own
  // [4,6) and [6,8): a rows 3-6 and 5-7.
  const stretch = sim.slices(decisions(2)).tiled![0]!;
  assert.deepEqual(stretch.positions, [0, 1, 2]);
  const rowsOf = (d: number, t: number) => stretch.devices[d]![t]!.map((slice) => slice!.outputs[0]![2]);
  assert.deepEqual(rowsOf(0, 0), [
    [0, 3],
    [0, 2],
    [0, 2],
  ]);
  assert.deepEqual(rowsOf(0, 1), [
    [1, 5],
    [2, 4],
    [2, 4],
  ]);
  assert.deepEqual(rowsOf(1, 0), [
    [3, 7],
    [4, 6],
    [4, 6],
  ]);
  assert.deepEqual(rowsOf(1, 1), [
    [5, 8],
    [6, 8],
    [6, 8],
  ]);
  // FLOPs per output row: conv1 4608 / 8 = 576, conv2 18432 / 8 = 2304, conv3 512 / 8 = 64. Untiled each device
  // computes 5 rows of a, 4 of b and y: 2880 + 9216 + 256 = 12352; tiled 7 rows of a: 4032 + 9216 + 256 = 13504.
  assert.deepEqual(
    untiled.devices.map((d) => d.flops),
    [12352, 12352],
  );
  assert.deepEqual(
    tiled.devices.map((d) => d.flops),
    [13504, 13504],
  );
  // At 1 GFLOP/s, compute is FLOPs / 1e6 ms.
  tiled.devices.forEach((d) => assert.ok(Math.abs(d.computeMs - 13504 / 1e6) < 1e-12, `${d.computeMs}`));
  // Weights: w1 144 B + w2 576 B + w3 16 B on each device (rows split, weights whole).
  assert.deepEqual(
    tiled.devices.map((d) => d.weightBytes),
    [736, 736],
  );
  // Untiled, device 0: x rows 0-5 received (192 B), a rows 0-4 (640 B), b rows 0-3 (512 B): 640 + 512 while conv2 runs.
  assert.deepEqual(
    untiled.devices.map((d) => d.activationPeakBytes),
    [1152, 1152],
  );
  // Tiled, device 0: x 192 + y's region 128 (alloc) + a₀ 384 + b₀ 256 = 960 while conv2 runs on sub-tile 0; device 1:
  // its first sub-tile's a₀ is 4 rows (512 B): 192 + 128 + 512 + 256 = 1088.
  assert.deepEqual(
    tiled.devices.map((d) => d.activationPeakBytes),
    [960, 1088],
  );
  assert.deepEqual(tiled.devicePeakBytes, [1696, 1824]);
  // Communication is unchanged; the latency moves only by the added compute and stays above the bound.
  assert.equal(tiled.bytesMoved, untiled.bytesMoved);
  assert.equal(tiled.messages, untiled.messages);
  assert.ok(Math.abs(tiled.latencyMs - untiled.latencyMs - (13504 - 12352) / 1e6) < 1e-9, `${tiled.latencyMs} vs ${untiled.latencyMs}`);
  assert.ok(tiled.latencyMs >= tiled.lowerBoundMs);
  // Steps (the runtime's and the overheads'): one per sub-tile, each fed the held x rows (192 B) and handing out
  // its 2 rows of y (64 B).
  const slices = sim.slices(decisions(2));
  const steps = deviceSteps(sim.context, slices, communication(sim.context, slices, cluster), 0);
  assert.deepEqual(
    steps.map((s) => [s.tile, s.gathers, s.boundaryBytes]),
    [
      [{ stretch: 0, tile: 0 }, ['x'], 256],
      [{ stretch: 0, tile: 1 }, [], 256],
    ],
  );
});

test('a memory limit no untiled split of threeConvs meets is met with tiles', () => {
  const model = threeConvs();
  const order = ['conv1', 'conv2', 'conv3'];
  // 1800 B per device: the untiled plan needs 1888 B, the tiled one 1696 and 1824 B; with 4 sub-tiles less still.
  const small: Cluster = { ...cluster, devices: cluster.devices.map((d) => ({ ...d, memoryMB: 1850 / 2 ** 20 })) };
  const sim = createSimulator(model, small, order);
  assert.equal(sim.run(decisions(), { timeline: false }).feasible, false);
  assert.equal(sim.run(decisions(2), { timeline: false }).feasible, true);
  const four = sim.run(decisions(4), { timeline: false });
  assert.ok(
    four.devicePeakBytes.every((b) => b < 1696),
    `${four.devicePeakBytes}`,
  );
  // Sub-tiles are memoised per (sink, count, sink row, stretch): results do not depend on what ran before.
  const again = sim.run(decisions(2), { timeline: false });
  const fresh = createSimulator(model, small, order).run(decisions(2), { timeline: false });
  assert.deepEqual(again.devicePeakBytes, fresh.devicePeakBytes);
  assert.deepEqual(
    again.devices.map((d) => d.flops),
    fresh.devices.map((d) => d.flops),
  );
});

test('tiles: one-line errors where they are not allowed', () => {
  const model = threeConvs();
  const order = ['conv1', 'conv2', 'conv3'];
  const bad = (ops: OpDecision[], message: RegExp) => assert.throws(() => makePlan(model, cluster, order, ops, 't'), message);
  const [c1, c2, c3] = decisions();
  bad([c1!, c2!, { ...c3!, tiles: 1 }], /operator 'conv3' \(Conv\) cannot take tiles 1: tiles must be an integer >= 2/);
  bad([c1!, { ...c2!, tiles: 2 }, c3!], /'conv2' \(Conv\) cannot take tiles 2: it skips synchronisation/);
  bad([c1!, { ...c2!, sync: true }, { ...c3!, sync: true, tiles: 2 }], /'conv3' \(Conv\) cannot take tiles 2: no fused operator feeds it/);
  const whole = { device: 0 };
  bad(
    [
      { op: 'conv1', placement: whole, sync: false },
      { op: 'conv2', placement: whole, sync: false },
      { op: 'conv3', placement: whole, sync: true, tiles: 2 },
    ],
    /cannot take tiles 2: it runs whole on one device/,
  );
});

test('tiles: a fused operator read outside the stretch, and a plan file with a bad tiles field', () => {
  const model = residualStack();
  const order = model.ops.map((op) => op.node.name);
  // relu feeds conv2 and the Add: with conv2 as the sink, the Add reads the fused relu from outside the stretch.
  const ops: OpDecision[] = order.map((op) => ({ op, placement: rows, sync: !['conv1', 'relu'].includes(op) }));
  ops[order.indexOf('conv2')] = { ...ops[order.indexOf('conv2')]!, tiles: 2 };
  assert.throws(
    () => makePlan(model, cluster, order, ops, 't'),
    /'conv2' \(Conv\) cannot take tiles 2: its fused operator 'relu' is also read by 'add', outside the stretch/,
  );
  // With the Add as the sink (conv2 fused too) the stretch is closed: conv1, relu, conv2, add.
  ops[order.indexOf('conv2')] = { op: 'conv2', placement: rows, sync: false };
  ops[order.indexOf('add')] = { op: 'add', placement: rows, sync: true, tiles: 3 };
  const plan = makePlan(model, cluster, order, ops, 't');
  const stretch = createSimulator(model, cluster, order).slices(plan.ops).tiled![0]!;
  assert.deepEqual(
    stretch.positions.map((p) => order[p]),
    ['conv1', 'relu', 'conv2', 'add'],
  );
  // The plan file: tiles must be an integer >= 2 (zod), then the plan rules.
  const raw = JSON.parse(JSON.stringify(plan));
  raw.ops[order.indexOf('add')].tiles = 1.5;
  assert.throws(() => validatePlan(raw, model, 'plan file p.json'), /plan file p.json: ops\[\d+\]\.tiles: must be an integer/);
  raw.ops[order.indexOf('add')].tiles = 2;
  assert.equal(validatePlan(raw, model, 'plan file p.json').ops[order.indexOf('add')]!.tiles, 2);
});
