import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { analyzeGraph } from '../analysis/analyze.ts';
import type { Cluster, Device } from '../cluster/types.ts';
import { GraphBuilder } from '../ir/builder.ts';
import type { Model } from '../ir/graph.ts';
import { repairDecisions } from '../partition/slices.ts';
import { makePlan, proportionalPlan, singleDevicePlan } from '../plan/build.ts';
import type { OpDecision, Placement } from '../partition/types.ts';
import { createSimulator, simulate } from './simulate.ts';

const MBPS = 8; // 8 Mbit/s: one byte takes 0.001 ms, so byte counts read directly as microseconds.

function device(name: string, overrides: Partial<Device> = {}): Device {
  return { name, gflops: 1, memoryMB: 64, uplinkMbps: MBPS, downlinkMbps: MBPS, latencyMs: 2, ...overrides };
}

function cluster(devices: Device[], router: Partial<Cluster['router']> = {}): Cluster {
  return { name: 'test', devices, router: { name: 'router', latencyMs: 0.5, broadcast: true, ...router } };
}

/** x[1,4,8,8] → 1×1 Conv to 8 channels → (optionally) 1×1 Conv to 8 channels. */
function convModel(layers: 1 | 2): Model {
  const b = new GraphBuilder('convs');
  let x = b.input('x', 'float32', [1, 4, 8, 8]);
  x = b.op('Conv', [x, b.weight('w1', [8, 4, 1, 1])], { kernel_shape: [1, 1] }, 'conv1');
  if (layers === 2) x = b.op('Conv', [x, b.weight('w2', [8, 8, 1, 1])], { kernel_shape: [1, 1] }, 'conv2');
  b.output(x);
  return analyzeGraph(b.build());
}

const order = (model: Model) => model.ops.map((op) => op.node.name);
const close = (actual: number, expected: number) => assert.ok(Math.abs(actual - expected) < 1e-9, `${actual} != ${expected}`);
// 1 GFLOP/s = 1e6 FLOPs per ms.
const msAt1Gflops = (flops: number) => flops / 1e6;

test('one device: input download + the sum of operator times + output upload', () => {
  const model = convModel(2);
  const c = cluster([device('a')]);
  const result = simulate(model, c, singleDevicePlan(model, c, order(model), 0));
  const [conv1, conv2] = model.ops.map((op) => op.cost.flops);
  const input = 4 * 64 * 4;
  const output = 8 * 64 * 4;
  const expected = 0.5 + (2 + input / 1000) + msAt1Gflops(conv1! + conv2!) + (2 + output / 1000);
  close(result.latencyMs, expected);
  close(result.devices[0]!.computeMs, msAt1Gflops(conv1! + conv2!));
  assert.equal(result.bytesMoved, input + output);
  assert.equal(result.messages, 2);
  assert.ok(result.feasible);
});

test('operator efficiency and measured profiles change operator times as docs/latency.md says', () => {
  const model = convModel(1);
  const flops = model.ops[0]!.cost.flops;
  const base = (d: Device) => simulate(model, cluster([d]), singleDevicePlan(model, cluster([d]), order(model), 0)).devices[0]!.computeMs;
  close(base(device('a', { efficiency: { Conv: 0.25 } })), msAt1Gflops(flops) * 4);
  close(base(device('a', { profile: { format: 'memorianova-profile', version: 1, opTypes: { Conv: 2 } } })), msAt1Gflops(flops) / 2);
  const fingerprint = createSimulator(model, cluster([device('a')]), order(model)).fingerprint;
  close(
    base(device('a', { profile: { format: 'memorianova-profile', version: 1, model: { name: 'convs', fingerprint }, ops: { conv1: 7 } } })),
    7,
  );
  close(
    base(
      device('a', {
        profile: { format: 'memorianova-profile', version: 1, model: { name: 'other', fingerprint: 'feed' }, ops: { conv1: 7 } },
      }),
    ),
    msAt1Gflops(flops),
  );
});

test('two identical devices splitting output channels in half: half the compute plus the predicted transfers', () => {
  const model = convModel(1);
  const c = cluster([device('a'), device('b')]);
  const plan = makePlan(model, c, order(model), [{ op: 'conv1', placement: { dim: 'channels', ratios: [1, 1] }, sync: true }], 'test');
  const result = simulate(model, c, plan);
  const input = 4 * 64 * 4;
  const half = (8 * 64 * 4) / 2;
  // The router broadcasts the whole input (each device needs all input channels), each computes half, each uploads half.
  close(result.latencyMs, 0.5 + (2 + input / 1000) + msAt1Gflops(model.ops[0]!.cost.flops / 2) + (2 + half / 1000));
  assert.equal(result.bytesMoved, 2 * input + 2 * half);
  assert.equal(result.devices[0]!.weightBytes, 4 * 4 * 4);
});

test('two channel-split layers: the second waits for the other half of the first (upload, forward, download)', () => {
  const model = convModel(2);
  const c = cluster([device('a'), device('b')], { forwardingMbps: 16 });
  const split: Placement = { dim: 'channels', ratios: [1, 1] };
  const plan = makePlan(
    model,
    c,
    order(model),
    order(model).map((op) => ({ op, placement: split, sync: true })),
    'test',
  );
  const result = simulate(model, c, plan);
  const [conv1, conv2] = model.ops.map((op) => op.cost.flops);
  const input = 4 * 64 * 4;
  const half = (8 * 64 * 4) / 2;
  const forward = (bytes: number) => 0.5 + bytes / 2000;
  // Both halves reach the router at once; it forwards their bytes one after the other (serialised), so the later
  // waits for the earlier's transmission, while their 0.5 ms delays overlap.
  const expected =
    forward(input) +
    (2 + input / 1000) +
    msAt1Gflops(conv1! / 2) +
    (2 + half / 1000) +
    0.5 +
    (2 * half) / 2000 +
    (2 + half / 1000) +
    msAt1Gflops(conv2! / 2) +
    (2 + half / 1000);
  close(result.latencyMs, expected);
  // Without broadcast the router forwards the input once per device: the second copy's bytes wait for the first's,
  // so b starts 0.512 ms later; its half then reaches the router after a's has been forwarded, so it need not wait
  // there, and the two shifts cancel: the same latency.
  const p2p = simulate(model, cluster(c.devices, { forwardingMbps: 16, broadcast: false }), plan);
  const forwards = p2p.timeline!.filter((e) => e.kind === 'forward' && e.tensor === 'x').map((e) => [e.startMs, e.endMs]);
  assert.deepEqual(forwards, [
    [0, input / 2000],
    [input / 2000, input / 1000],
  ]);
  close(p2p.latencyMs, expected);
});

test('k messages on one link overlap their delays: bytes occupy the link, the delay does not', () => {
  // x → conv1 → y1 (a graph output) and x → conv2 → y2 (another), both on device a.
  const b = new GraphBuilder('two-outputs');
  const x = b.input('x', 'float32', [1, 4, 8, 8]);
  b.output(b.op('Conv', [x, b.weight('w1', [8, 4, 1, 1])], { kernel_shape: [1, 1] }, 'conv1'));
  b.output(b.op('Conv', [x, b.weight('w2', [8, 4, 1, 1])], { kernel_shape: [1, 1] }, 'conv2'));
  const model = analyzeGraph(b.build());
  const c = cluster([device('a')]);
  const result = simulate(model, c, singleDevicePlan(model, c, order(model), 0));
  const input = 4 * 64 * 4;
  const y = 8 * 64 * 4;
  const flops = model.ops[0]!.cost.flops;
  // conv1 ends at t1; y1 occupies the uplink [t1, t1 + 2.048]; conv2 ends at t1 + 0.004 and y2 queues behind y1's
  // bytes, [t1 + 2.048, t1 + 4.096], then arrives 2 ms later: one delay, not two (the old rule gave t1 + 8.096).
  const t1 = 0.5 + (2 + input / 1000) + msAt1Gflops(flops);
  close(result.latencyMs, t1 + (2 * y) / 1000 + 2);
  close(result.devices[0]!.sendMs, (2 * y) / 1000);
});

test('shared medium: every uplink and downlink transmission takes turns on one channel', () => {
  const model = convModel(1);
  const devices = [device('a'), device('b')];
  const split = (c: Cluster) =>
    simulate(
      model,
      c,
      makePlan(model, c, order(model), [{ op: 'conv1', placement: { dim: 'channels', ratios: [1, 1] }, sync: true }], 'test'),
    );
  const input = 4 * 64 * 4;
  const half = (8 * 64 * 4) / 2;
  const h = msAt1Gflops(model.ops[0]!.cost.flops / 2);
  // Switched: both devices receive the input at once and upload their halves at once.
  close(split(cluster(devices)).latencyMs, 0.5 + input / 1000 + 2 + h + half / 1000 + 2);
  // Shared: the input's two downlink transmissions take turns ([0.5, 1.524] to a, [1.524, 2.548] to b), so b starts
  // 1.024 ms after a; a's upload [3.524 + h, 4.548 + h] ends just as b's is ready, which then takes
  // [4.548 + h, 5.572 + h] and arrives 2 ms later.
  const shared = split({ ...cluster(devices), medium: 'shared' });
  close(shared.latencyMs, 0.5 + (2 * input) / 1000 + 2 + h + half / 1000 + 2);
  const receives = shared.timeline!.filter((e) => e.kind === 'receive').map((e) => [e.startMs, e.endMs]);
  assert.deepEqual(receives, [
    [0.5, 0.5 + input / 1000],
    [0.5 + input / 1000, 0.5 + (2 * input) / 1000],
  ]);
});

test('device memory: weights of its slices + peak live activations; an overflowing plan is infeasible', () => {
  const model = convModel(1);
  const tiny = cluster([device('a', { memoryMB: 400 / 2 ** 20 })]);
  const result = simulate(model, tiny, singleDevicePlan(model, tiny, order(model), 0));
  // receive x (1024 B) → conv writes y (2048 B) while x is live → send y. Weights 8×4 floats = 128 B.
  assert.deepEqual(result.devicePeakBytes, [1024 + 2048 + 128]);
  assert.equal(result.feasible, false);
  assert.deepEqual(result.violations, [{ device: 0, deviceName: 'a', peakBytes: 3200, limitBytes: 400 }]);
  // Split in halves over two devices: each holds the whole input, half the output and half the weights.
  const two = cluster([device('a'), device('b')]);
  const halves = simulate(
    model,
    two,
    makePlan(model, two, order(model), [{ op: 'conv1', placement: { dim: 'channels', ratios: [1, 1] }, sync: true }], 'test'),
  );
  assert.deepEqual(halves.devicePeakBytes, [1024 + 1024 + 64, 1024 + 1024 + 64]);
});

function smallCnn(): Model {
  const b = new GraphBuilder('small');
  let x = b.input('x', 'float32', [1, 3, 16, 16]);
  const conv = (c: number, k: number, s = 1) => {
    x = b.op('Relu', [
      b.op('Conv', [x, b.weight('w', [c, 0 + (x === 'x' ? 3 : prev), k, k])], {
        kernel_shape: [k, k],
        strides: [s, s],
        pads: [k >> 1, k >> 1, k >> 1, k >> 1],
      }),
    ]);
    prev = c;
  };
  let prev = 3;
  conv(8, 3);
  conv(8, 3, 2);
  const skip = x;
  conv(8, 1);
  x = b.op('Add', [x, skip]);
  x = b.op('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] });
  x = b.op('Gemm', [b.op('Flatten', [b.op('GlobalAveragePool', [x])]), b.weight('fc', [4, 8])], { transB: 1 });
  b.output(x);
  return analyzeGraph(b.build());
}

test('random plans: the lower bound never exceeds the latency; device timelines never overlap', () => {
  const model = smallCnn();
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 4 }),
      fc.array(fc.nat(1000), { minLength: 40, maxLength: 40 }),
      fc.boolean(),
      (n, picks, broadcast) => {
        let k = 0;
        const pick = () => picks[k++ % picks.length]!;
        const c = cluster(
          Array.from({ length: n }, (_, i) =>
            device(`d${i}`, { gflops: 1 + (pick() % 4), latencyMs: pick() % 3, uplinkMbps: 1 + (pick() % 50) }),
          ),
          { broadcast, ...(pick() % 2 ? { forwardingMbps: 20 } : {}) },
        );
        const sim = createSimulator(model, c, order(model));
        const decisions = repairDecisions(
          sim.context,
          sim.context.space.map((space): OpDecision => {
            const choice = pick() % (space.options.length + 1);
            const placement: Placement =
              choice === space.options.length
                ? { device: pick() % n }
                : { dim: space.options[choice]!.dim, ratios: Array.from({ length: n }, () => 1 + (pick() % 3)) };
            return { op: space.op, placement, sync: pick() % 2 === 0 };
          }),
        );
        const result = sim.run(decisions);
        assert.ok(result.lowerBoundMs <= result.latencyMs + 1e-9, `bound ${result.lowerBoundMs} > latency ${result.latencyMs}`);
        for (let d = 0; d < n; d++) {
          for (const kind of ['compute', 'send', 'receive'] as const) {
            const events = result.timeline!.filter((e) => e.device === d && e.kind === kind).sort((a, b) => a.startMs - b.startMs);
            for (let i = 1; i < events.length; i++)
              assert.ok(events[i]!.startMs >= events[i - 1]!.endMs - 1e-9, `${kind} overlaps on device ${d}`);
          }
        }
      },
    ),
    { seed: 11, numRuns: 150 },
  );
});

test('memoised slices and routes: re-running plans in any order gives what a fresh simulator gives', () => {
  const model = smallCnn();
  const c = cluster([device('a'), device('b', { gflops: 2 }), device('c')]);
  const shared = createSimulator(model, c, order(model));
  let seed = 5;
  const pick = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8;
  const plans = Array.from({ length: 12 }, () =>
    repairDecisions(
      shared.context,
      shared.context.space.map((space): OpDecision => {
        const choice = pick() % (space.options.length + 1);
        const placement: Placement =
          choice === space.options.length
            ? { device: pick() % 3 }
            : { dim: space.options[choice]!.dim, ratios: [1 + (pick() % 2), 1, pick() % 2] };
        return { op: space.op, placement, sync: pick() % 3 !== 0 };
      }),
    ),
  );
  const strip = ({ timeline: _t, ...rest }: ReturnType<typeof shared.run>) => rest;
  const fresh = plans.map((decisions) => strip(createSimulator(model, c, order(model)).run(decisions)));
  for (const round of [0, 1]) {
    plans.forEach((_, i) => {
      const j = round === 0 ? i : plans.length - 1 - i;
      assert.deepEqual(strip(shared.run(plans[j]!)), fresh[j]);
    });
  }
});

test('proportional plan on a heterogeneous cluster gives the faster device the larger share', () => {
  const model = smallCnn();
  const c = cluster([device('slow'), device('fast', { gflops: 3 })]);
  const result = simulate(model, c, proportionalPlan(model, c, order(model)));
  assert.ok(result.devices[1]!.flops > 2 * result.devices[0]!.flops);
});
