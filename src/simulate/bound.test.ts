import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyzeGraph } from '../analysis/analyze.ts';
import { presetCluster } from '../cluster/presets.ts';
import type { Cluster, Device } from '../cluster/types.ts';
import { randomChromosome } from '../geneflow/encoding.ts';
import { GraphBuilder } from '../ir/builder.ts';
import { repairDecisions, tilesBlocker } from '../partition/slices.ts';
import { ratiosToRanges } from '../partition/ranges.ts';
import { isStripe, type Placement } from '../partition/types.ts';
import { makePlan, singleDevicePlan } from '../plan/build.ts';
import { mulberry32 } from '../random.ts';
import { zooEntry } from '../zoo/index.ts';
import { assignmentBound } from './bound.ts';
import { createSimulator, simulate } from './simulate.ts';

const device = (name: string, overrides: Partial<Device> = {}): Device => ({
  name,
  gflops: 1,
  memoryMB: 64,
  uplinkMbps: 8,
  downlinkMbps: 8,
  latencyMs: 2,
  ...overrides,
});
const cluster = (devices: Device[], extra: Partial<Cluster> = {}): Cluster => ({
  name: 'test',
  devices,
  router: { name: 'router', latencyMs: 0.5, broadcast: true },
  ...extra,
});

/** x[1,4,8,8] → 1×1 Conv to 8 channels: 2 × 4 × 8 × 64 = 4096 FLOPs, output 2048 B. */
function conv() {
  const b = new GraphBuilder('conv');
  const x = b.input('x', 'float32', [1, 4, 8, 8]);
  b.output(b.op('Conv', [x, b.weight('w', [8, 4, 1, 1])], { kernel_shape: [1, 1] }, 'conv1'));
  return analyzeGraph(b.build());
}
const close = (actual: number, expected: number) => assert.ok(Math.abs(actual - expected) < 1e-9, `${actual} != ${expected}`);

test('lower bound on hand-computed cases: compute windows open with each device’s delay; outputs cross the uplinks', () => {
  const model = conv();
  const order = model.ops.map((op) => op.node.name);
  // Two devices of 1 MFLOP/s (1e3 FLOPs/ms), delays 2 and 4 ms, router 0.5 ms: a = 2.5 and 4.5 ms. 4096 FLOPs would
  // take the first alone 4.096 ms > 4.5 − 2.5, so the second joins at 4.5: 1e3·(T − 2.5) + 1e3·(T − 4.5) = 4096.
  const c = cluster([device('a', { gflops: 1e-3 }), device('b', { gflops: 1e-3, latencyMs: 4 })]);
  const { lowerBound, lowerBoundMs } = createSimulator(model, c, order);
  close(lowerBound.computeMs, (4096 / 1e3 + 2.5 + 4.5) / 2);
  close(lowerBound.ioMs, 0.5 + 2 * 2);
  close(lowerBound.criticalPathMs, 4096 / 2e3);
  // 2048 output bytes over 8 + 8 Mbit/s (switched): 1.024 ms after io.
  close(lowerBound.outputMs, 4.5 + (2048 * 8) / (16 * 1000));
  close(lowerBoundMs, Math.max(lowerBound.computeMs, 4.5 + 4096 / 2e3, lowerBound.outputMs));
  // Shared medium: the uploads take turns, so the fastest uplink alone carries the output bytes.
  close(createSimulator(model, { ...c, medium: 'shared' }, order).lowerBound.outputMs, 4.5 + (2048 * 8) / (8 * 1000));
  // One device: the bound is below what the single-device plan takes (download 1024 B, compute, upload 2048 B).
  const one = cluster([device('a')]);
  const result = simulate(model, one, singleDevicePlan(model, one, order, 0));
  assert.ok(result.lowerBoundMs <= result.latencyMs, `${result.lowerBoundMs} > ${result.latencyMs}`);
});

test('lower bound, compute: the busiest device of the best fractional split of the whole-operator times', () => {
  // Two alike devices; the second operator runs at half the first one's rate (2 ms for the same FLOPs): 3 ms of work
  // over two devices is 1.5 ms, where Σ FLOPs / Σ best rates counts 2F / 2F = 1 ms.
  close(
    assignmentBound(
      [
        [1, 1],
        [2, 2],
      ],
      [1, 1],
    ),
    1.5,
  );
  // The two alike devices as one kind of two: times halved, rate doubled, the same 1.5 ms.
  close(assignmentBound([[0.5], [1]], [2]), 1.5);
  // Each operator is fast on a different device: one each, 1 ms.
  close(
    assignmentBound(
      [
        [1, 4],
        [4, 1],
      ],
      [1, 1],
    ),
    1,
  );
  // The second device twice as fast: 4 ms of the first device's work at 1 + 2 per ms together is 4/3 ms.
  close(
    assignmentBound(
      [
        [2, 1],
        [2, 1],
      ],
      [1, 2],
    ),
    4 / 3,
  );
  // Through the simulator: a 1 ms Conv and a Relu that its efficiency makes as slow, on two alike devices, no delays.
  const b = new GraphBuilder('two');
  const x = b.input('x', 'float32', [1, 4, 8, 8]);
  const y = b.op('Conv', [x, b.weight('w', [8, 4, 1, 1])], { kernel_shape: [1, 1] }, 'conv1');
  b.output(b.op('Relu', [y], {}, 'relu1'));
  const model = analyzeGraph(b.build());
  const relu = model.ops[1]!.cost.flops;
  const slow = (name: string) => device(name, { gflops: 4.096e-3, latencyMs: 0, efficiency: { Relu: relu / 4096 } });
  const c = cluster([slow('a'), slow('b')], { router: { name: 'router', latencyMs: 0, broadcast: true } });
  close(createSimulator(model, c, ['conv1', 'relu1']).lowerBound.computeMs, 1);
});

test('lower bound: an input some operator reads whole must be downloaded whole; on a shared medium with the output', () => {
  const model = conv();
  const order = model.ops.map((op) => op.node.name);
  // x is 1024 B and the 1×1 convolution reads all of it. Switched: 0.5 + 1024 B over 8 + 8 Mbit/s + 2 ms.
  const c = cluster([device('a', { gflops: 1e-3 }), device('b', { gflops: 1e-3, latencyMs: 4 })]);
  close(createSimulator(model, c, order).lowerBound.inputMs, 0.5 + (1024 * 8) / (16 * 1000) + 2);
  // Shared: the 1024 input bytes and the 2048 output bytes take turns on one 8 Mbit/s channel.
  const shared = createSimulator(model, { ...c, medium: 'shared' }, order);
  close(shared.lowerBound.inputMs, 0.5 + (1024 * 8) / 8000 + (2048 * 8) / 8000 + 2);
  // One device on the shared medium: forward 0.5, download 1.024 + 2, compute 4.096, upload 2.048 + 2 = the bound
  // plus the compute and one delay.
  const one = cluster([device('a', { gflops: 1e-3 })], { medium: 'shared' });
  const result = simulate(model, one, singleDevicePlan(model, one, order, 0));
  close(result.latencyMs, result.lowerBound.inputMs + 4.096 + 2);
  // A strided 1×1 convolution skips rows and columns of x: no input bytes are provably needed.
  const b = new GraphBuilder('strided');
  const x = b.input('x', 'float32', [1, 4, 8, 8]);
  b.output(b.op('Conv', [x, b.weight('w', [8, 4, 1, 1])], { kernel_shape: [1, 1], strides: [2, 2] }, 'conv1'));
  const strided = analyzeGraph(b.build());
  assert.equal(createSimulator(strided, c, ['conv1']).lowerBound.inputMs, 0, 'a strided 1×1 convolution needs no whole input');
  // A 3×3 stride-2 window over 8×8 reads rows and columns 0–6 without gaps (3 outputs per axis): 4 × 7 × 7 float32.
  const b3 = new GraphBuilder('edge');
  const x3 = b3.input('x', 'float32', [1, 4, 8, 8]);
  b3.output(b3.op('Conv', [x3, b3.weight('w', [8, 4, 3, 3])], { kernel_shape: [3, 3], strides: [2, 2] }, 'conv1'));
  const edge = analyzeGraph(b3.build());
  close(createSimulator(edge, c, ['conv1']).lowerBound.inputMs, 0.5 + (4 * 7 * 7 * 4 * 8) / (16 * 1000) + 2);
  // Padding reads nothing: a padded 3×3 window over 8×8 counts the 4 × 8 × 8 tensor, not the 10 × 10 padded map.
  const bp = new GraphBuilder('padded');
  const xp = bp.input('x', 'float32', [1, 4, 8, 8]);
  bp.output(bp.op('Conv', [xp, bp.weight('w', [8, 4, 3, 3])], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, 'conv1'));
  const padded = analyzeGraph(bp.build());
  close(createSimulator(padded, c, ['conv1']).lowerBound.inputMs, 0.5 + (4 * 8 * 8 * 4 * 8) / (16 * 1000) + 2);
});

test('random plans over zoo models and clusters: the lower bound never exceeds the simulated latency', () => {
  const models = ['squeezenet1.0', 'resnet50', 'googlenet', 'bert-base'].map((name) =>
    analyzeGraph(zooEntry(name).build(name === 'bert-base' ? { seqLen: 16, layers: 2 } : {}), { name }),
  );
  const homo4 = presetCluster('homo4')!;
  const clusters: Cluster[] = [
    homo4,
    presetCluster('hetero4')!,
    { ...homo4, name: 'homo4-switched', medium: 'switched' },
    {
      ...presetCluster('hetero4')!,
      name: 'hetero4-p2p-slow',
      medium: 'shared',
      router: { name: 'router', latencyMs: 3, forwardingMbps: 50, broadcast: false },
      devices: presetCluster('hetero4')!.devices.map((d, i) => ({ ...d, latencyMs: [0, 1, 5, 20][i]!, uplinkMbps: 5 + 40 * i })),
    },
  ];
  const random = mulberry32(7);
  const tileRandom = mulberry32(8);
  const gridRandom = mulberry32(9);
  let plans = 0;
  let tiledPlans = 0;
  let gridPlans = 0;
  for (const model of models) {
    const order = model.ops.map((op) => op.node.name);
    for (const c of clusters) {
      const sim = createSimulator(model, c, order);
      for (let i = 0; i < 20; i++) {
        const decisions = repairDecisions(sim.context, randomChromosome(sim.context, random, c.devices.length));
        // The same plan with 2-4 sub-tiles on every stretch that may take them (its own random stream).
        const tiled = decisions.map((d, p) =>
          tilesBlocker(sim.context, decisions, p) === null &&
          tilesBlocker(sim.context, [...decisions.slice(0, p), { ...d, tiles: 2 }, ...decisions.slice(p + 1)], p) === null
            ? { ...d, tiles: 2 + Math.floor(tileRandom() * 3) }
            : d,
        );
        // The same plan with every rows split that may take a grid on a random 2×2, 1×2 or 2×1 grid (one grid per
        // distinct split, so fused stretches stay fused where every operator takes it; its own random stream).
        const grids = new Map<string, Placement>();
        const gridded = repairDecisions(
          sim.context,
          decisions.map((d, p) => {
            const placement = d.placement;
            if (!isStripe(placement) || placement.dim !== 'rows' || sim.context.space[p]!.grid === null) return d;
            const key = placement.ratios.join(',');
            let grid = grids.get(key);
            if (grid === undefined) {
              const [r, k] = [
                [2, 2],
                [1, 2],
                [2, 1],
              ][Math.floor(gridRandom() * 3)]!;
              const ratios = (n: number) => Array.from({ length: n }, () => 1 + Math.floor(gridRandom() * 3));
              grid = { dim: 'grid', rows: ratios(r!), cols: ratios(k!), devices: [3, 1, 0, 2].slice(0, r! * k!) };
              grids.set(key, grid);
            }
            return { ...d, placement: grid };
          }),
        );
        if (gridded.some((d) => 'devices' in d.placement)) gridPlans++;
        for (const plan of [decisions, tiled, gridded]) {
          const result = sim.run(plan, { timeline: false });
          plans++;
          assert.ok(
            result.lowerBoundMs <= result.latencyMs + 1e-9,
            `${model.name} on ${c.name}: bound ${result.lowerBoundMs} > latency ${result.latencyMs}`,
          );
        }
        if (tiled.some((d) => d.tiles !== undefined)) tiledPlans++;
      }
    }
  }
  assert.equal(plans, 960);
  assert.ok(tiledPlans >= 100, `${tiledPlans} of 320 plans have a tiled stretch`);
  assert.ok(gridPlans >= 100, `${gridPlans} of 320 plans have a grid`);
});

test('degenerate but valid numbers: extreme clusters and ratios past the largest double give finite latencies ≥ the bound', () => {
  assert.deepEqual(ratiosToRanges(8, [1e308, 1e308]), [
    [0, 4],
    [4, 8],
  ]);
  const model = conv();
  const order = model.ops.map((op) => op.node.name);
  const extremes: Cluster[] = [
    cluster([
      device('a', { gflops: 1e-3, uplinkMbps: 1e-3, downlinkMbps: 1e-3, latencyMs: 0 }),
      device('b', { gflops: 1e6, uplinkMbps: 1e6, downlinkMbps: 1e6, latencyMs: 1e5 }),
    ]),
    cluster([device('a', { gflops: 1e6, uplinkMbps: 1e6, downlinkMbps: 1e6, latencyMs: 0 }), device('b', { gflops: 1e-3 })], {
      medium: 'shared',
      router: { name: 'router', latencyMs: 1e5, forwardingMbps: 1e-3, broadcast: false },
    }),
  ];
  for (const c of extremes) {
    const plan = makePlan(model, c, order, [{ op: 'conv1', placement: { dim: 'channels', ratios: [1e308, 1e308] }, sync: true }], 't');
    const result = simulate(model, c, plan);
    assert.ok(
      Number.isFinite(result.latencyMs) && result.latencyMs >= result.lowerBoundMs,
      `${result.latencyMs} vs ${result.lowerBoundMs}`,
    );
  }
});
