import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { presetCluster } from '../cluster/presets.ts';
import { loadModel } from '../model/load.ts';
import { planOrder } from '../ordering/plan.ts';
import { singleDevicePlan } from '../plan/build.ts';
import { smallCnn } from '../runtime/testing.ts';
import { busiestChannelMs, idealSplitMs, wholeRuns } from './ideal.ts';
import type { SimulationResult } from './types.ts';
import { createSimulator } from './simulate.ts';

const close = (actual: number, expected: number) => assert.ok(Math.abs(actual - expected) < 1e-9, `${actual} vs ${expected}`);

describe('idealSplitMs (divisible load)', () => {
  const pi = { inputMs: 10, computeMs: 30, outputMs: 0 };

  it('two equal devices: shares sent one after another on a shared channel, at once on a switched network', () => {
    // Shared: f2 = f1 · 30 / (10 + 30) = 0.75 f1, f1 = 1 / 1.75, T = f1 · 40 = 22.857…; switched: T = 1 / (2 / 40) = 20.
    close(idealSplitMs([pi, pi], 'shared'), 40 / 1.75);
    close(idealSplitMs([pi, pi], 'switched'), 20);
    close(idealSplitMs([pi], 'shared'), 40);
  });

  it('output shares take turns on a shared channel, the slowest upload counts on a switched one', () => {
    const withOutput = { ...pi, outputMs: 4 };
    close(idealSplitMs([withOutput, withOutput], 'shared'), 40 / 1.75 + 4);
    close(idealSplitMs([withOutput, withOutput], 'switched'), 20 + 2);
  });

  it('a much slower device gets a small share, and the fastest device goes first whatever the order given', () => {
    const slow = { inputMs: 10, computeMs: 1000, outputMs: 0 };
    // f2 = f1 · 30 / 1010: T = 40 / (1 + 30 / 1010).
    close(idealSplitMs([slow, pi], 'shared'), 40 / (1 + 30 / 1010));
  });

  it("on a real model and cluster: each device's whole run is its single-device plan, and the ideal is below it", () => {
    const model = loadModel('squeezenet1.0');
    const cluster = presetCluster('homo2')!;
    const simulator = createSimulator(model, cluster, planOrder(model, { timeLimitMs: 5000, randomSamples: 1 }).orderNames);
    const runs = wholeRuns(simulator);
    assert.equal(runs.length, 2);
    for (const run of runs) assert.ok(run.inputMs > 0 && run.computeMs > 0 && run.outputMs > 0);
    assert.ok(idealSplitMs(runs, cluster.medium) < runs[0]!.inputMs + runs[0]!.computeMs + runs[0]!.outputMs);
  });
});

it("wholeRuns: devices alike but for their name share one run, each the device's own single-device simulation", () => {
  const model = smallCnn();
  const hetero = presetCluster('hetero4')!;
  const cluster = { ...hetero, devices: [...hetero.devices, { ...hetero.devices[0]!, name: 'twin' }] };
  const order = planOrder(model, { timeLimitMs: 1000 }).orderNames;
  const simulator = createSimulator(model, cluster, order);
  const expected = cluster.devices.map((_, d) => {
    const device = simulator.run(singleDevicePlan(model, cluster, order, d).ops, { timeline: false }).devices[d]!;
    return { inputMs: device.receiveMs, computeMs: device.computeMs, outputMs: device.sendMs };
  });
  const runs = wholeRuns(simulator);
  assert.deepEqual(runs, expected);
  assert.equal(runs[4], runs[0], 'the twin is not simulated again');
});

it('busiestChannelMs: the one shared channel carries every transfer; on a switched network the busiest link counts', () => {
  const device = (sendMs: number, receiveMs: number) => ({ sendMs, receiveMs }) as SimulationResult['devices'][number];
  const result = { devices: [device(2, 5), device(3, 1)] } as SimulationResult;
  assert.equal(busiestChannelMs(result, 'shared'), 11);
  assert.equal(busiestChannelMs(result, 'switched'), 5);
});
