import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { presetCluster } from '../cluster/presets.ts';
import type { MethodResult, AllMethodsResult } from '../pipeline/methods.ts';
import type { OpDecision } from '../partition/types.ts';
import type { Plan } from '../plan/types.ts';
import { decisionSummary, devicesUsed, DIVISIBLE, idealFigures, planStages } from './plan-summary.ts';

const cluster = presetCluster('homo4')!;
const plan = (ops: OpDecision[], method = 'geneflow'): Plan =>
  ({
    format: 'memorianova-plan',
    version: 1,
    method,
    model: { name: 'm', fingerprint: 'f' },
    cluster,
    order: ops.map((o) => o.op),
    ops,
  }) as Plan;
const whole = (op: string, device: number, sync = true): OpDecision => ({ op, placement: { device }, sync });
const split = (op: string, ratios: number[], sync: boolean): OpDecision => ({ op, placement: { dim: 'rows', ratios }, sync });

const twoStages = plan([
  whole('a', 0),
  whole('b', 0),
  split('c', [1, 1, 2, 0], false),
  split('d', [2, 2, 4, 0], false),
  split('e', [1, 1, 2, 0], true),
  whole('f', 1),
]);

describe('the report’s plan summary', () => {
  it('planStages: runs of operators placed alike (ratios compared as shares), their devices, shares and sync points', () => {
    assert.deepEqual(planStages(twoStages, cluster), [
      { first: 'a', last: 'b', operators: 2, devices: ['pi1'], split: null, shares: [1], syncs: 2 },
      { first: 'c', last: 'e', operators: 3, devices: ['pi1', 'pi2', 'pi3'], split: 'rows', shares: [0.25, 0.25, 0.5], syncs: 1 },
      { first: 'f', last: 'f', operators: 1, devices: ['pi2'], split: null, shares: [1], syncs: 1 },
    ]);
    assert.deepEqual(devicesUsed(twoStages, cluster), ['pi1', 'pi2', 'pi3'], 'devices used');
  });

  // Every device busy 5 ms sending and 5 ms receiving: the one shared channel 4 · 10 = 40 ms.
  const method = (name: string, latencyMs: number, p: Plan, feasible = true): MethodResult =>
    ({
      name,
      latencyMs,
      feasible,
      plan: p,
      devicePeakBytes: [2 ** 31, 0, 0, 0],
      simulation: { devices: cluster.devices.map(() => ({ sendMs: 5, receiveMs: 5 })) },
    }) as unknown as MethodResult;
  // Four devices computing the model in 100 ms with no input or output to move: the ideal split is 100 / 4 = 25 ms.
  const result = (methods: MethodResult[], best: string): AllMethodsResult =>
    ({
      methods,
      best,
      lowerBoundMs: 50,
      lowerBound: { computeMs: 40, criticalPathMs: 30, ioMs: 10 },
      whole: cluster.devices.map(() => ({ inputMs: 0, computeMs: 100, outputMs: 0 })),
    }) as unknown as AllMethodsResult;
  const single = plan(
    ['a', 'b', 'c', 'd', 'e', 'f'].map((op) => whole(op, 0)),
    'single',
  );

  it('a tiled stretch is named after the decision', () => {
    const tiled = plan(twoStages.ops.map((d) => (d.op === 'e' ? { ...d, tiles: 4 } : d)));
    const summary = decisionSummary(result([method('single', 150, single), method('geneflow', 100, tiled)], 'geneflow'), cluster);
    assert.equal(
      summary.sentences[1],
      'One fused stretch runs as sequential sub-tiles on each device to save memory (4 for the stretch ending at e; docs/plan-format.md, "Tiles").',
    );
  });

  it('a split decision: devices, stages, sync points, × bound, speed-up over one device and the gain, hand-computed', () => {
    const summary = decisionSummary(
      result([method('single', 150, single), method('layerwise', 120, single), method('geneflow', 100, twoStages)], 'geneflow'),
      cluster,
    );
    assert.equal(summary.warning, null, 'no warning');
    assert.deepEqual(summary.sentences, [
      "Decision: split the model over 3 of the 4 devices (pi1, pi2, pi3) in 3 stages with 4 synchronisation points (geneflow's plan): 100.0 ms simulated, 2.00× the lower bound of 50.0 ms.",
      'That is 1.50× the speed of the best single device (150.0 ms).',
      `A freely divisible split (${DIVISIBLE}) would be 6.00× the speed of the best single device (25.0 ms), against this plan's 1.50×; the busiest channel (the one channel every transfer shares) carries data for 40.0% of the plan's 100.0 ms.`,
      'Memory: at most 2048.0 MiB on a device, against 2048.0 MiB for the whole model on one.',
      'GenEFlow against the best other method (layerwise, random search included): 16.7% lower latency.',
    ]);
  });

  it('one device best: said so with the fastest split’s cost; warnings when GenEFlow loses or nothing fits', () => {
    const oneDevice = decisionSummary(
      result([method('single', 100, single), method('geneflow', 100, single), method('proportional', 125, twoStages)], 'single'),
      cluster,
    );
    assert.equal(
      oneDevice.sentences[1],
      "Splitting is slower here: the fastest method's plan that uses several devices (proportional, 3 devices) takes 125.0 ms, 25.0% more — what the links cost outweighs what the other devices add.",
    );
    assert.equal(
      oneDevice.sentences[2],
      `A freely divisible split (${DIVISIBLE}) would be 4.00× faster than this one device (25.0 ms); the input alone takes 0.0 ms to reach another device, and the busiest channel (the one channel every transfer shares) carries data for 40.0% of the plan's 100.0 ms.`,
    );
    assert.equal(
      oneDevice.sentences[3],
      "GenEFlow's plan is as fast as the best other method's (single, random search included).",
      'a tie',
    );
    const loses = decisionSummary(result([method('lp', 80, twoStages), method('geneflow', 100, twoStages)], 'lp'), cluster);
    assert.equal(loses.warning, 'GenEFlow is not the best method here: lp is 25.0% faster (80.0 ms against 100.0 ms).');
    const none = decisionSummary(result([method('single', 100, single, false)], 'single'), cluster);
    assert.equal(
      none.warning,
      `No method found a plan within every device's memory. The closest (single) still overflows: pi1 needs 2048.0 MiB of its ${cluster.devices[0]!.memoryMB.toFixed(1)} MiB.`,
    );
  });

  it('why not faster: the ideal split and the busiest channel on two devices, hand-computed', () => {
    const two = presetCluster('homo2')!;
    const splitPlan = plan([split('a', [1, 1], true)]);
    const onePlan = plan([whole('a', 0)], 'single');
    // Device 0 sends 2 ms and receives 5 ms, device 1 sends 3 ms and receives 10 ms.
    const simulated = (m: MethodResult) =>
      ({
        ...m,
        simulation: {
          devices: [
            { sendMs: 2, receiveMs: 5 },
            { sendMs: 3, receiveMs: 10 },
          ],
        },
      }) as MethodResult;
    // Each device alone: 10 ms to receive the input, 30 ms to compute (ideal.test.ts): shared 40 / 1.75 = 22.857 ms, switched 20 ms.
    const ideal = (methods: MethodResult[], best: string) =>
      ({
        ...result(methods.map(simulated), best),
        whole: [0, 1].map(() => ({ inputMs: 10, computeMs: 30, outputMs: 0 })),
      }) as AllMethodsResult;
    const splitBest = ideal([method('single', 80, onePlan), method('geneflow', 50, splitPlan)], 'geneflow');
    // Shared: the channel carries 2 + 5 + 3 + 10 = 20 ms of the plan's 50; single / ideal = 80 · 1.75 / 40 = 3.50.
    const figures = idealFigures(splitBest, two);
    assert.ok(Math.abs(figures.idealMs - 40 / 1.75) < 1e-9 && figures.channelBusyShare === 0.4, JSON.stringify(figures));
    assert.equal(
      decisionSummary(splitBest, two).sentences[2],
      `A freely divisible split (${DIVISIBLE}) would be 3.50× the speed of the best single device (22.9 ms), against this plan's 1.60×; the busiest channel (the one channel every transfer shares) carries data for 40.0% of the plan's 50.0 ms.`,
    );
    // Switched: the busiest link is device 1's downlink, 10 ms of 50; 80 / 20 = 4.00.
    const switched = { ...two, medium: 'switched' as const };
    assert.deepEqual(idealFigures(splitBest, switched), { idealMs: 20, channelBusyShare: 0.2 });
    assert.equal(
      decisionSummary(splitBest, switched).sentences[2],
      `A freely divisible split (${DIVISIBLE}) would be 4.00× the speed of the best single device (20.0 ms), against this plan's 1.60×; the busiest channel (the busiest link, one device's uplink or downlink) carries data for 20.0% of the plan's 50.0 ms.`,
    );
    // One device best at 40 ms: 40 / 22.857 = 1.75, and device 1's input takes 10 ms; the channel carries 20 of 40 ms.
    const oneBest = ideal([method('single', 40, onePlan), method('geneflow', 60, splitPlan)], 'single');
    assert.equal(
      decisionSummary(oneBest, two).sentences[2],
      `A freely divisible split (${DIVISIBLE}) would be 1.75× faster than this one device (22.9 ms); the input alone takes 10.0 ms to reach another device, and the busiest channel (the one channel every transfer shares) carries data for 50.0% of the plan's 40.0 ms.`,
    );
    // No feasible single device to compare with: the ideal and the plan in ms.
    const noSingle = ideal([method('single', 80, onePlan, false), method('geneflow', 50, splitPlan)], 'geneflow');
    assert.equal(
      decisionSummary(noSingle, two).sentences[1],
      `A freely divisible split (${DIVISIBLE}) would take 22.9 ms, against this plan's 50.0 ms; the busiest channel (the one channel every transfer shares) carries data for 40.0% of the plan's 50.0 ms.`,
    );
  });
});
