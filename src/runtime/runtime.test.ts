import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { presetCluster } from '../cluster/presets.ts';
import type { Cluster } from '../cluster/types.ts';
import type { Model } from '../ir/graph.ts';
import { loadModel } from '../model/load.ts';
import { partitionContext } from '../partition/context.ts';
import { repairDecisions } from '../partition/slices.ts';
import { makePlan, proportionalPlan, singleDevicePlan } from '../plan/build.ts';
import type { Plan } from '../plan/types.ts';
import type { SplitDim } from '../partition/types.ts';
import { withInlineWeights } from './reference.ts';
import { runAgainstReference, smallCnn, suiteWorkers } from './testing.ts';
import { startWorker } from './worker.ts';

const orderOf = (model: Model) => model.ops.map((op) => op.node.name);

/** The proportional plan with every operator that may skip synchronisation fused into its consumers. */
function fusedPlan(model: Model, cluster: Cluster, dims?: SplitDim[]): Plan {
  const base = proportionalPlan(model, cluster, orderOf(model), dims);
  const ops = repairDecisions(
    partitionContext(model, base.order),
    base.ops.map((d) => ({ ...d, sync: false })),
  );
  return makePlan(model, cluster, base.order, ops, 'fused');
}

function withRatios(cluster: Cluster, gflops: number[]): Cluster {
  return { ...cluster, devices: cluster.devices.map((d, i) => ({ ...d, gflops: gflops[i]! })) };
}

describe('distributed execution equals one whole-model session', () => {
  const workers = suiteWorkers(3);

  async function check(model: Model, plan: Plan): Promise<number> {
    const { maxAbsError, result } = await runAgainstReference(model, plan, workers, { runs: 2 });
    assert.equal(result.latenciesMs.length, 2);
    return maxAbsError;
  }

  const cnn = smallCnn();
  const homo2 = presetCluster('homo2')!;
  const hetero3 = withRatios({ ...presetCluster('homo4')!, devices: presetCluster('homo4')!.devices.slice(0, 3) }, [10, 25, 7]);
  const cases: Array<[string, () => Plan]> = [
    ['single device (the second)', () => singleDevicePlan(cnn, homo2, orderOf(cnn), 1)],
    ['rows split over two devices', () => proportionalPlan(cnn, homo2, orderOf(cnn), ['rows'])],
    ['channels split over three unequal devices', () => proportionalPlan(cnn, hetero3, orderOf(cnn), ['channels'])],
    ['rows split, fused stretches with halos', () => fusedPlan(cnn, hetero3, ['rows'])],
    ['channels split, fused stretches', () => fusedPlan(cnn, homo2, ['channels'])],
  ];
  for (const [name, plan] of cases) {
    it(`small CNN, ${name}`, async () => {
      const err = await check(cnn, plan());
      assert.ok(err <= 1e-4, `max abs error ${err}`);
    });
  }

  it('small CNN on hetero4, the plan of every planner (baselines and GenEFlow)', async () => {
    const { runAllMethods } = await import('../pipeline/methods.ts');
    const hetero4 = presetCluster('hetero4')!;
    workers.push(await startWorker({ host: '127.0.0.1', port: 0, name: 'w3' }));
    const planned = await runAllMethods(cnn, hetero4, orderOf(cnn), { timeLimitMs: 1500, geneflow: { seed: 1 }, random: false });
    assert.ok(planned.methods.some((m) => m.name === 'geneflow'));
    for (const method of planned.methods) {
      const err = await check(cnn, method.plan);
      assert.ok(err <= 1e-4, `${method.name}: max abs error ${err}`);
    }
  });

  it('emulated devices taking turns on the processor (exclusive compute, per-run slowdowns) compute the same output', async () => {
    const plan = proportionalPlan(cnn, homo2, orderOf(cnn), ['rows']);
    const asked: number[] = [];
    const { maxAbsError, result } = await runAgainstReference(cnn, plan, workers, {
      runs: 2,
      warmup: 1,
      emulateLinks: true,
      slowdowns: [3, 3],
      exclusiveCompute: true,
      slowdownsForRun: async (run) => {
        asked.push(run);
        return [2, 2];
      },
    });
    assert.deepEqual(asked, [0, 1, 2]);
    assert.ok(maxAbsError <= 1e-4);
    for (const run of result.workerRuns) for (const w of run) assert.ok(w.computeMs > 0);
  });

  it('emulated links on one clock: pieces travel at once and are held until the emulated link delivers them', async () => {
    // 2 Mbit/s links, 5 ms per message: a run shorter than the time its pieces spend on the emulated downlinks would
    // show that the holds were skipped.
    const slow: Cluster = { ...homo2, devices: homo2.devices.map((d) => ({ ...d, uplinkMbps: 2, downlinkMbps: 2, latencyMs: 5 })) };
    const plan = proportionalPlan(cnn, slow, orderOf(cnn), ['rows']);
    const { simulate } = await import('../simulate/simulate.ts');
    const predicted = simulate(cnn, slow, plan);
    const { maxAbsError, result } = await runAgainstReference(cnn, plan, workers, {
      runs: 2,
      warmup: 1,
      emulateLinks: true,
      sharedClock: true,
    });
    assert.ok(maxAbsError <= 1e-4);
    const linkMs = Math.max(...predicted.devices.map((d) => d.receiveMs));
    for (const ms of result.latenciesMs)
      assert.ok(ms >= linkMs, `a run took ${ms.toFixed(1)} ms, under the ${linkMs.toFixed(1)} ms its pieces spend on emulated links`);
  });

  it('BERT (1 layer, 8 tokens): attention split by heads, the rest by tokens, fused stretches', async () => {
    const bert = withInlineWeights(loadModel('bert-base', { layers: 1, seqLen: 8 }));
    const err = await check(bert, fusedPlan(bert, homo2, ['heads', 'tokens', 'channels']));
    assert.ok(err <= 1e-4, `max abs error ${err}`);
  });
});

describe('regions', () => {
  it('copyRegion moves exactly the part, element by element (property)', async () => {
    const { copyRegion } = await import('./regions.ts');
    const arb = fc
      .array(fc.integer({ min: 1, max: 5 }), { minLength: 0, maxLength: 4 })
      .chain((shape) =>
        fc.tuple(
          fc.constant(shape),
          fc.tuple(...shape.map((s) => fc.tuple(fc.integer({ min: 0, max: s - 1 }), fc.integer({ min: 0, max: s - 1 })))),
          fc.tuple(...shape.map((s) => fc.tuple(fc.integer({ min: 0, max: s - 1 }), fc.integer({ min: 0, max: s - 1 })))),
        ),
      );
    fc.assert(
      fc.property(arb, ([shape, a, b]) => {
        // src and dst boxes both contain the part [lo, hi).
        const part = shape.map((_, i) => [Math.min(a[i]![0], a[i]![1]), Math.max(a[i]![0], a[i]![1]) + 1] as [number, number]);
        const src = part.map(([s, e], i) => [Math.max(0, s - b[i]![0]), Math.min(shape[i]!, e + b[i]![1])] as [number, number]);
        const dst = part.map(([s, e], i) => [Math.max(0, s - b[i]![1]), Math.min(shape[i]!, e)] as [number, number]);
        const strides = shape.map((_, i) => shape.slice(i + 1).reduce((x, y) => x * y, 1));
        const flat = (idx: number[]) => idx.reduce((n, v, i) => n + v * strides[i]!, 0);
        const elements = (box: Array<[number, number]>): number[][] =>
          box.reduce<number[][]>((acc, [s, e]) => acc.flatMap((p) => Array.from({ length: e - s }, (_, k) => [...p, s + k])), [[]]);
        const srcEls = elements(src);
        const srcBytes = new Uint8Array(srcEls.length * 2);
        const view = new Uint16Array(srcBytes.buffer);
        srcEls.forEach((idx, k) => (view[k] = flat(idx) + 1));
        const dstEls = elements(dst);
        const dstBytes = new Uint8Array(dstEls.length * 2);
        copyRegion({ box: src, bytes: srcBytes }, { box: dst, bytes: dstBytes }, part, 2);
        const out = new Uint16Array(dstBytes.buffer);
        const inPart = (idx: number[]) => idx.every((v, i) => v >= part[i]![0] && v < part[i]![1]);
        dstEls.forEach((idx, k) => assert.equal(out[k], inPart(idx) ? flat(idx) + 1 : 0));
      }),
      { seed: 42, numRuns: 300 },
    );
  });
});
