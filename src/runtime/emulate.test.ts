import assert from 'node:assert/strict';
import { it } from 'node:test';
import { validateCluster } from '../cluster/load.ts';
import { presetCluster } from '../cluster/presets.ts';
import type { DeviceProfile } from '../cluster/types.ts';
import { emulatedCluster } from './emulate.ts';

it('an emulated cluster, tiny operator types included, is a valid cluster: the plan file that inlines it reads back', () => {
  // BERT-base's mask Sub measures 0.016 GFLOP/s on this machine; emulating a 6 GFLOP/s device on a 150 GFLOP/s host
  // divides it by 25, below a device's least gflops (1e-3) but a valid per-type rate.
  const host: DeviceProfile = { format: 'memorianova-profile', version: 1, opTypes: { Sub: 0.0162, MatMul: 150 } };
  const cluster = emulatedCluster(presetCluster('emu4')!, host, 150);
  const sub = cluster.devices[0]!.profile!.opTypes!['Sub']!;
  assert.ok(Math.abs(sub - 0.0162 / 25) < 1e-12, `Sub rate ${sub}`);
  assert.deepEqual(validateCluster(JSON.parse(JSON.stringify(cluster)), 'the plan file'), cluster);
});
