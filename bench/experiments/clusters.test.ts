import assert from 'node:assert/strict';
import { test } from 'node:test';
import { presetCluster } from '../../src/cluster/presets.ts';
import { BYTES_PER_MB } from '../../src/cluster/types.ts';
import { heterogeneousCluster, homogeneousCluster, logSweep, withBandwidth, withUniformMemory } from './clusters.ts';

test('homo4 and the four-device mix match the presets homo4 and hetero4 (as multisets)', () => {
  const strip = (c: ReturnType<typeof homogeneousCluster>) => c.devices.map(({ name: _name, ...rest }) => JSON.stringify(rest)).sort();
  assert.deepEqual(strip(homogeneousCluster(4)), strip(presetCluster('homo4')!));
  assert.deepEqual(strip(heterogeneousCluster(4)), strip(presetCluster('hetero4')!));
  assert.deepEqual(strip(heterogeneousCluster(8)), strip(presetCluster('hetero8')!));
  assert.deepEqual(homogeneousCluster(4).router, presetCluster('homo4')!.router);
  assert.equal(homogeneousCluster(4).medium, presetCluster('homo4')!.medium);
  assert.deepEqual(
    heterogeneousCluster(3).devices.map((d) => d.name),
    ['pi1', 'jetson1', 'pi2'],
  );
});

test('uniform memory and bandwidth edits change only what they name', () => {
  const base = presetCluster('hetero4')!;
  const small = withUniformMemory(base, 300 * BYTES_PER_MB);
  assert.deepEqual(
    small.devices.map((d) => d.memoryMB),
    [300, 300, 300, 300],
  );
  assert.deepEqual(
    small.devices.map((d) => d.gflops),
    base.devices.map((d) => d.gflops),
  );
  const slow = withBandwidth(base, 5);
  assert.deepEqual(
    slow.devices.map((d) => [d.uplinkMbps, d.downlinkMbps, d.latencyMs]),
    base.devices.map((d) => [5, 5, d.latencyMs]),
  );
  assert.deepEqual(slow.router, base.router);
  assert.equal(slow.medium, 'shared');
  assert.equal(base.devices[0]!.uplinkMbps, 91, 'the original is not modified');
});

test('log sweep: 1 to 1000 in 7 and 4 points', () => {
  assert.deepEqual(logSweep(1, 1000, 7), [1, 3.16, 10, 31.6, 100, 316, 1000]);
  assert.deepEqual(logSweep(1, 1000, 4), [1, 10, 100, 1000]);
});
