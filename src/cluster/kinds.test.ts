import assert from 'node:assert/strict';
import { test } from 'node:test';
import { presetCluster } from './presets.ts';
import { deviceKinds } from './kinds.ts';

test('deviceKinds: devices alike in all but their name are one kind, in order of first appearance', () => {
  const [pi1, pi2, jetson, laptop] = presetCluster('hetero4')!.devices;
  assert.deepEqual(deviceKinds([pi1!, jetson!, pi2!, laptop!]), [
    { first: 0, count: 2 },
    { first: 1, count: 1 },
    { first: 3, count: 1 },
  ]);
});
