import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fastestWithin, fitRow, formatChange, markdownTable } from './fit-table.ts';

// A hand front: untiled 1000 B at 100 ms; tiled points by increasing peak and decreasing latency.
const front = [
  { peakBytes: 100, latencyMs: 130, groups: [1, 2, 3] },
  { peakBytes: 240, latencyMs: 110, groups: [1, 2] },
  { peakBytes: 500, latencyMs: 100.02, groups: [1] },
  { peakBytes: 1000, latencyMs: 100, groups: [] },
];

test('fastestWithin: the least latency among the points within the limit, null when none is', () => {
  assert.equal(fastestWithin(front, 1000), front[3]);
  assert.equal(fastestWithin(front, 999), front[2]);
  assert.equal(fastestWithin(front, 250), front[1]);
  assert.equal(fastestWithin(front, 240), front[1]);
  assert.equal(fastestWithin(front, 239), front[0]);
  assert.equal(fastestWithin(front, 99), null);
  // Order does not matter; on a latency tie the lower peak wins.
  assert.equal(fastestWithin([...front].reverse(), 999), front[2]);
  const tie = [
    { peakBytes: 300, latencyMs: 5, groups: [] },
    { peakBytes: 200, latencyMs: 5, groups: [] },
  ];
  assert.equal(fastestWithin(tie, 300), tie[1]);
});

test('fitRow: ratio, least peak latency change and the ½, ¼, ⅛ cells of a hand front', () => {
  const row = fitRow({ baselinePeakBytes: 1000, baselineLatencyMs: 100, front });
  assert.equal(row.leastPeakBytes, 100);
  assert.equal(row.ratio, 10);
  assert.ok(Math.abs(row.leastPeakLatencyChangePct - 30) < 1e-9);
  assert.deepEqual(
    row.fractions.map((c) => [c.denominator, c.limitBytes, c.point?.peakBytes ?? null, c.point?.groups ?? null]),
    [
      [2, 500, 500, 1],
      [4, 250, 240, 2],
      [8, 125, 100, 3],
    ],
  );
  assert.ok(Math.abs(row.fractions[1]!.point!.latencyChangePct - 10) < 1e-9);
  const tight = fitRow({ baselinePeakBytes: 1000, baselineLatencyMs: 100, front: front.slice(1) });
  assert.equal(tight.fractions[2]!.point, null);
  // Bytes print as KiB below 1 MiB (1000 B = 0.98 KiB), the search time to a tenth of a second.
  const table = markdownTable([{ label: 'hand', row: tight, searchS: 1.25 }]);
  assert.equal(
    table.split('\n')[2],
    '| hand | 0.98 KiB | 100.0 ms | 0.23 KiB | 4.17× | +10.0% | 0.49 KiB, +0.0%, 1 group | 0.23 KiB, +10.0%, 2 groups | infeasible | 1.3 s |',
  );
});

test('formatChange: one decimal, signed, zero as +0.0%', () => {
  assert.equal(formatChange(0.02), '+0.0%');
  assert.equal(formatChange(-0.04), '+0.0%');
  assert.equal(formatChange(4.94), '+4.9%');
  assert.equal(formatChange(-12.34), '-12.3%');
});
