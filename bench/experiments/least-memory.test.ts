import assert from 'node:assert/strict';
import { test } from 'node:test';
import { memoryRange } from './least-memory.ts';

test('memory range of experiment (b): 400 MiB of weights, 100 MiB activation peak, four devices', () => {
  const MiB = 2 ** 20;
  assert.deepEqual(memoryRange(400 * MiB, 100 * MiB, 4), {
    floorBytes: 100 * MiB,
    singleDeviceBytes: 500 * MiB,
    ceilings: [625 * MiB, 2000 * MiB],
  });
});
