import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { createSimulator } from './simulate.ts';
import { equivalenceCases, pinnedOf, type PinnedResult } from './testing.ts';

// The simulator's results on seeded random and mutated plans, pinned before any speed work (scripts/pin-simulator.ts):
// speed-ups (memos, incremental re-simulation, fewer allocations) must reproduce them exactly, whatever the order
// in which plans come and whatever the memos hold.
const pinned = JSON.parse(readFileSync(new URL('./equivalence.fixture.json', import.meta.url), 'utf8')) as Record<string, PinnedResult[]>;
const cases = equivalenceCases();

test('equivalence cases cover feasible and infeasible plans', () => {
  const all = Object.values(pinned).flat();
  assert.equal(all.length, 600, 'three models × two clusters × 100 plans');
  assert.ok(
    all.some((r) => r.devicePeakBytes.some((b) => b > 40 * 2 ** 20)) && all.some((r) => r.devicePeakBytes.every((b) => b <= 40 * 2 ** 20)),
    'some plans exceed 40 MiB on a device (mixed3-small overflows) and some do not',
  );
});

for (const { key, simulator, plans } of cases) {
  test(`${key}: ${plans.length} plans reproduce the pinned results in order and in reverse`, () => {
    const expected = pinned[key]!;
    assert.equal(expected.length, plans.length, `${key}: pinned count`);
    plans.forEach((plan, i) =>
      assert.deepEqual(pinnedOf(simulator.run(plan, { timeline: false, trusted: true })), expected[i], `${key} plan ${i}`),
    );
    for (let i = plans.length - 1; i >= 0; i--)
      assert.deepEqual(pinnedOf(simulator.run(plans[i]!, { timeline: false, trusted: true })), expected[i], `${key} plan ${i} (reverse)`);
  });
}

test('a fresh simulator with the timeline on agrees with the pinned results', () => {
  for (const { key, simulator, plans } of cases) {
    const fresh = createSimulator(simulator.context.model, simulator.cluster, simulator.context.order);
    for (const i of [0, 7, 49, 50, 77, 99]) {
      const result = fresh.run(plans[i]!);
      assert.deepEqual(pinnedOf(result), pinned[key]![i], `${key} plan ${i}, fresh simulator`);
      assert.ok((result.timeline?.length ?? 0) > 0, `${key} plan ${i}: timeline recorded`);
    }
  }
});
