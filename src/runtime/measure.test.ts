import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyzeGraph } from '../analysis/analyze.ts';
import type { DeviceProfile } from '../cluster/types.ts';
import { presetCluster } from '../cluster/presets.ts';
import { GraphBuilder } from '../ir/builder.ts';
import { modelFingerprint } from '../model/fingerprint.ts';
import { emulatedCluster, profileGflops, slowdownFor } from './emulate.ts';
import { Channel, Hop } from '../simulate/latency.ts';
import { maxAbsError, median } from './reference.ts';

/** y = x · W with x [1, 4] and W [4, 2]: 2 × 4 × 2 = 16 FLOPs; then Relu (2 elements, 2 FLOPs). */
function tinyModel() {
  const b = new GraphBuilder('tiny');
  const x = b.input('x', 'float32', [1, 4]);
  const y = b.op('MatMul', [x, b.weight('w', [4, 2])], {}, 'mm');
  b.output(b.op('Relu', [y], {}, 'relu'));
  return analyzeGraph(b.build(), { name: 'tiny' });
}

describe('runtime measurements on hand-computed cases', () => {
  it('an emulated hop is busy bytes × 8 / (Mbit/s × 1000) ms per message, in FIFO order, and its delay overlaps', () => {
    const link = new Hop(new Channel(), 100, 10);
    // 125 000 bytes = 1 Mbit: 10 ms at 100 Mbit/s on the link, arriving 10 ms later.
    assert.deepEqual(link.send(0, 125_000), { startMs: 0, sentMs: 10, arrivesMs: 20 });
    // Ready at 5 ms, it waits for the link (free at 10), then pays its 10 ms delay while the link is free again.
    assert.deepEqual(link.send(5, 125_000), { startMs: 10, sentMs: 20, arrivesMs: 30 });
    assert.equal(link.channel.busyMs, 20);
  });

  it('slowdown = host GFLOP/s / device GFLOP/s, never below 1', () => {
    const pi = presetCluster('homo4')!.devices[0]!;
    assert.equal(pi.gflops, 24);
    assert.equal(slowdownFor(pi, 72), 3);
    assert.equal(slowdownFor(pi, 12), 1);
  });

  it('profile GFLOP/s = Σ FLOPs / Σ ms; the emulated cluster multiplies operator times and step costs by the slowdown', () => {
    const model = tinyModel();
    assert.deepEqual(
      model.ops.map((op) => op.cost.flops),
      [16, 2],
    );
    const overheads = { stepMs: 0.01, msPerMiB: 0.002, splitPenalty: { rows: 0.25 } };
    const profile: DeviceProfile = {
      format: 'memorianova-profile',
      version: 1,
      model: { name: 'tiny', fingerprint: modelFingerprint(model) },
      ops: { mm: 0.001, relu: 0.0008 },
      opTypes: { MatMul: 0.016 },
      overheads,
    };
    // 18 FLOPs in 0.0018 ms: 18 / (0.0018 × 1e6) = 0.01 GFLOP/s.
    assert.ok(Math.abs(profileGflops(model, profile) - 0.01) < 1e-12);
    const cluster = emulatedCluster(
      { ...presetCluster('homo2')!, devices: presetCluster('homo2')!.devices.map((d) => ({ ...d, gflops: 0.002 })) },
      profile,
      0.01,
    );
    const device = cluster.devices[0]!;
    assert.ok(Math.abs(device.profile!.ops!.mm! - 0.005) < 1e-12, 'slowdown 0.01 / 0.002 = 5');
    assert.ok(Math.abs(device.profile!.opTypes!.MatMul! - 0.0032) < 1e-12);
    // Step costs are CPU time too and stretch the same way; a penalty is a ratio and does not.
    assert.deepEqual(device.profile!.overheads, { stepMs: 0.05, msPerMiB: 0.01, splitPenalty: { rows: 0.25 } });
  });

  it('median of an odd and an even count', () => {
    assert.equal(median([5, 1, 3]), 3);
    assert.equal(median([4, 1, 3, 2]), 2.5);
  });

  it('max abs error over float outputs; integer mismatches are Infinity', () => {
    const model = tinyModel();
    const output = model.graph.outputs[0]!.name;
    const f = (values: number[]) => new Uint8Array(new Float32Array(values).buffer);
    assert.equal(maxAbsError(model, new Map([[output, f([1, 2.5])]]), new Map([[output, f([1.5, 2])]])), 0.5);
    assert.equal(maxAbsError(model, new Map([[output, f([1, NaN])]]), new Map([[output, f([1, 2])]])), Infinity);
  });
});
