import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Evaluator } from '../geneflow/fitness.ts';
import { convChain, orderOf, testCluster, testDevice } from '../geneflow/testing.ts';
import { createSimulator } from '../simulate/simulate.ts';
import { deviceCounts, transferMs, type PlanningContext } from './common.ts';
import { deepThings } from './deepthings.ts';
import { heft } from './heft.ts';
import { layerwise, MAX_DP_DEVICES } from './layerwise.ts';
import { solveSplits } from './lp.ts';
import { singleDevice } from './single.ts';

function planning(model: ReturnType<typeof convChain>, cluster: ReturnType<typeof testCluster>): PlanningContext {
  const simulator = createSimulator(model, cluster, orderOf(model));
  return { model, cluster, simulator, evaluator: new Evaluator(simulator) };
}

describe('LP baseline', () => {
  it('splits one operator across two devices at the closed-form optimum x1 = t2 / (t1 + t2), T = t1·t2 / (t1 + t2)', async () => {
    const cluster = testCluster([testDevice('a'), testDevice('b')]);
    const [t1, t2] = [3, 6];
    const [solution] = await solveSplits(
      [{ opMs: [t1, t2], inputBytes: 0, outputBytes: 0, weightBytes: 0, dims: ['channels'] }],
      cluster,
      [0, 1],
    );
    assert.ok(solution !== null && !('device' in solution!.placement));
    assert.ok(Math.abs(solution!.objectiveMs - (t1 * t2) / (t1 + t2)) < 1e-6);
    const ratios = (solution!.placement as { ratios: number[] }).ratios;
    assert.ok(Math.abs(ratios[0]! - t2 / (t1 + t2)) < 1e-4);
    assert.ok(Math.abs(ratios[1]! - t1 / (t1 + t2)) < 1e-4);
  });

  it('keeps an operator whole on the home device when shipping data costs more than it saves', async () => {
    const cluster = testCluster([testDevice('a', { latencyMs: 50 }), testDevice('b', { latencyMs: 50 })]);
    const [solution] = await solveSplits(
      [{ opMs: [3, 6], inputBytes: 1000, outputBytes: 1000, weightBytes: 0, dims: ['rows'] }],
      cluster,
      [0, 1],
    );
    assert.deepEqual(solution!.placement, { device: 0 });
    assert.equal(solution!.objectiveMs, 3);
  });
});

describe('single device and layer-wise DP', () => {
  it('single picks the fastest device that holds the model', () => {
    const model = convChain(2);
    const context = planning(model, testCluster([testDevice('a'), testDevice('b', { gflops: 4 })]));
    assert.deepEqual(
      singleDevice(context).best.decisions.map((d) => d.placement),
      model.ops.map(() => ({ device: 1 })),
    );
  });

  it('cuts the chain into stages when no single device can hold all the weights', () => {
    const model = convChain(4, 32, 8);
    const weightMB = [...model.tensors.values()].filter((t) => t.kind === 'weight').reduce((s, t) => s + t.bytes, 0) / 2 ** 20;
    // Each device holds a bit more than half of the weights (plus the small activations).
    const memoryMB = weightMB * 0.5 + 0.05;
    const context = planning(model, testCluster([testDevice('a', { memoryMB }), testDevice('b', { memoryMB })]));
    const { best } = layerwise(context);
    assert.ok(best.result.feasible);
    const devices = best.decisions.map((d) => ('device' in d.placement ? d.placement.device : -1));
    assert.equal(new Set(devices).size, 2);
    // Contiguous stages: the device changes once along the order.
    assert.equal(devices.filter((d, i) => i > 0 && d !== devices[i - 1]).length, 1);
  });
});

describe('HEFT', () => {
  it('puts a chain on the device where each operator finishes first, and off a device that cannot hold its weights', () => {
    const model = convChain(3);
    const fast = planning(model, testCluster([testDevice('a'), testDevice('b', { gflops: 4 })]));
    assert.deepEqual(
      heft(fast).best.decisions.map((d) => d.placement),
      model.ops.map(() => ({ device: 1 })),
    );
    const noRoom = planning(model, testCluster([testDevice('a'), testDevice('b', { gflops: 4, memoryMB: 0.001 })]));
    assert.deepEqual(
      heft(noRoom).best.decisions.map((d) => d.placement),
      model.ops.map(() => ({ device: 0 })),
    );
  });
});

describe('deadline', () => {
  it('a baseline past its deadline evaluates only its first candidate; without one it evaluates them all', () => {
    const model = convChain(3);
    const cluster = testCluster([testDevice('a'), testDevice('b', { gflops: 4 }), testDevice('c')]);
    assert.equal(singleDevice(planning(model, cluster)).candidates, 3, 'no deadline: every device simulated');
    const late = { ...planning(model, cluster), deadline: performance.now() - 1 };
    const outcome = singleDevice(late);
    assert.equal(outcome.candidates, 1, 'past the deadline: the first candidate only');
    assert.deepEqual(
      outcome.best.decisions.map((d) => d.placement),
      model.ops.map(() => ({ device: 0 })),
    );
  });
});

describe('large clusters', () => {
  it('deviceCounts: every count up to 16, then doubling, then the whole cluster', () => {
    assert.deepEqual(deviceCounts(1), []);
    assert.deepEqual(deviceCounts(5), [2, 3, 4, 5]);
    assert.deepEqual(
      deviceCounts(16, 1),
      Array.from({ length: 16 }, (_, i) => i + 1),
    );
    assert.deepEqual(deviceCounts(1000), [...Array.from({ length: 15 }, (_, i) => i + 2), 32, 64, 128, 256, 512, 1000]);
    assert.deepEqual(deviceCounts(64), [...Array.from({ length: 15 }, (_, i) => i + 2), 32, 64]);
  });

  it('layerwise on 40 devices (past a 32-bit mask) cuts over the 8 fastest and keeps memory', () => {
    const model = convChain(4, 32, 8);
    const weightMB = [...model.tensors.values()].filter((t) => t.kind === 'weight').reduce((s, t) => s + t.bytes, 0) / 2 ** 20;
    const memoryMB = weightMB * 0.5 + 0.05;
    // Devices 0..39, each faster than the one before: the DP may use only 32..39.
    const devices = Array.from({ length: 40 }, (_, i) => testDevice(`d${i}`, { gflops: 1 + i, memoryMB }));
    const { best } = layerwise(planning(model, testCluster(devices)));
    assert.ok(best.result.feasible, 'the stages fit');
    const used = new Set(best.decisions.map((d) => ('device' in d.placement ? d.placement.device : -1)));
    assert.ok(used.size >= 2 && [...used].every((d) => d >= 40 - MAX_DP_DEVICES), `devices used: ${[...used].join(',')}`);
  });

  it('HEFT mean transfer over device pairs equals the O(D²) mean (heterogeneous links)', () => {
    const model = convChain(3);
    const devices = [
      testDevice('a', { uplinkMbps: 10, downlinkMbps: 50, latencyMs: 1 }),
      testDevice('b', { uplinkMbps: 100, downlinkMbps: 20, latencyMs: 3, gflops: 2 }),
      testDevice('c', { uplinkMbps: 40, downlinkMbps: 40, latencyMs: 0.5, gflops: 3 }),
    ];
    const cluster = { ...testCluster(devices), router: { name: 'router', latencyMs: 2, forwardingMbps: 300, broadcast: true } };
    const bytes = 12_345;
    let pairs = 0;
    for (const a of devices) for (const b of devices) if (a !== b) pairs += transferMs(cluster, a, b, bytes);
    let separated = 0;
    for (const d of devices) separated += transferMs(cluster, d, null, bytes) + transferMs(cluster, null, d, bytes);
    assert.ok(Math.abs(pairs / 6 - separated / 3) < 1e-9, `${pairs / 6} vs ${separated / 3}`);
    assert.ok(heft(planning(model, cluster)).best.result.latencyMs > 0);
  });
});

describe('DeepThings baseline', () => {
  it('tries N×M grids: on four slow boards with a fast network a fused 2×2 grid beats four stripes and is kept', () => {
    const model = convChain(3, 4, 8);
    const cluster = testCluster([0, 1, 2, 3].map((i) => testDevice(`d${i}`, { gflops: 0.001 })));
    const context = planning(model, cluster);
    const outcome = deepThings(context);
    const first = outcome.best.decisions[0]!.placement;
    assert.ok('devices' in first && first.rows.length === 2 && first.cols.length === 2, JSON.stringify(first));
    // Every operator fused into the last one on the same grid: each tile recomputes the halos of its stack.
    assert.ok(outcome.best.decisions.every((d, p) => d.sync === (p === 2) && 'devices' in d.placement));
    const stripes = context.evaluator.evaluate(
      orderOf(model).map((op, p) => ({ op, placement: { dim: 'rows', ratios: [0.25, 0.25, 0.25, 0.25] }, sync: p === 2 })),
    );
    assert.ok(outcome.best.result.latencyMs < stripes.result.latencyMs, `${outcome.best.result.latencyMs} vs ${stripes.result.latencyMs}`);
  });
});

describe('DeepThings baseline on devices of unequal speed', () => {
  it('also tries grids with bands sized by the devices’ shares, and keeps one when it is best', () => {
    const model = convChain(2, 4, 32);
    // Two fast and two slow boards, fast network: bands by speed beat equal tiles and stripes.
    const cluster = testCluster([2, 2, 1, 1].map((g, i) => testDevice(`d${i}`, { gflops: g * 0.001 })));
    const outcome = deepThings(planning(model, cluster));
    const first = outcome.best.decisions[0]!.placement;
    assert.ok('devices' in first, JSON.stringify(first));
    assert.ok(first.rows.some((r) => Math.abs(r - first.rows[0]!) > 1e-9) || first.cols.some((r) => Math.abs(r - first.cols[0]!) > 1e-9));
  });
});
