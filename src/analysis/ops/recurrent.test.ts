import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeOne } from '../testing.ts';

test('bidirectional LSTM: Y, Y_h, Y_c shapes and gate FLOPs', () => {
  // X [seq 5, batch 2, input 3], W [2, 4·4, 3], R [2, 4·4, 4]
  const { outputs, op } = analyzeOne(
    'LSTM',
    [{ shape: [5, 2, 3] }, { shape: [2, 16, 3], weight: true }, { shape: [2, 16, 4], weight: true }],
    { hidden_size: 4, direction: 'bidirectional' },
    { outputs: 3 },
  );
  assert.deepEqual(
    outputs.map((o) => o.shape),
    [
      [5, 2, 2, 4],
      [2, 2, 4],
      [2, 2, 4],
    ],
  );
  // per step, direction and row: 2·G·H·(I+H) + 4·G·H with G=4, H=4, I=3
  assert.equal(op.cost.flops, 5 * 2 * 2 * (2 * 4 * 4 * 7 + 4 * 4 * 4));
});

test('batch-first GRU (layout 1)', () => {
  const { outputs } = analyzeOne(
    'GRU',
    [{ shape: [2, 5, 3] }, { shape: [1, 12, 3], weight: true }, { shape: [1, 12, 4], weight: true }],
    { hidden_size: 4, layout: 1 },
    { outputs: 2 },
  );
  assert.deepEqual(
    outputs.map((o) => o.shape),
    [
      [2, 5, 1, 4],
      [2, 1, 4],
    ],
  );
});
