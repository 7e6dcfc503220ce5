import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fastestWithin, fitRow, formatChange, haloRow, haloTable, markdownTable } from './fit-table.ts';

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

test('haloRow: least peaks and the latency changes recomputing against caching of two hand fronts', () => {
  const recompute = { baselinePeakBytes: 1000, baselineLatencyMs: 100, front };
  const cache = {
    baselinePeakBytes: 1000,
    baselineLatencyMs: 100,
    front: [
      { peakBytes: 90, latencyMs: 120, groups: [1, 2, 3], cachedGroups: 2 },
      { peakBytes: 100, latencyMs: 112, groups: [1, 2, 3], cachedGroups: 1 },
      { peakBytes: 240, latencyMs: 104, groups: [1, 2], cachedGroups: 1 },
      { peakBytes: 500, latencyMs: 100.01, groups: [1], cachedGroups: 1 },
      { peakBytes: 1000, latencyMs: 100, groups: [], cachedGroups: 0 },
    ],
  };
  const row = haloRow(recompute, cache);
  assert.equal(row.recomputeLeastPeakBytes, 100);
  assert.equal(row.cacheLeastPeakBytes, 90);
  assert.equal(row.cacheLeastPeakCachedGroups, 2);
  assert.ok(Math.abs(row.atRecomputeLeast.latencyChangePct - 12) < 1e-9, 'the fastest cached point within 100 B: 112 ms');
  assert.deepEqual(
    row.fractions.map((f) => [f.limitBytes, f.recompute?.toFixed(2), f.cache?.toFixed(2), f.cachedGroups]),
    [
      [500, '0.02', '0.01', 1],
      [250, '10.00', '4.00', 1],
      [125, '30.00', '12.00', 1],
    ],
  );
  assert.deepEqual([row.cachedPoints, row.points], [4, 5]);
  assert.equal(
    haloTable([{ label: 'hand', halo: row, searchS: 2 }]).split('\n')[2],
    '| hand | 0.10 KiB, +30.0% | 0.09 KiB, +20.0% (2 cached) | +30.0% → +12.0% (1 cached) | +0.0% → +0.0% (1 cached) | +10.0% → +4.0% (1 cached) | +30.0% → +12.0% (1 cached) | 4 of 5 | 2.0 s |',
  );
});
