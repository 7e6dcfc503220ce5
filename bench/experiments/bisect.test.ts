import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { bracketsOf, leastSucceedingLimits } from './bisect.ts';

/** Toy monotone methods: each succeeds from its own threshold up. */
const thresholdProbe =
  (thresholds: Record<string, number>, log: number[] = []) =>
  async (limit: number) => {
    log.push(limit);
    return new Set(
      Object.entries(thresholds)
        .filter(([, t]) => limit >= t)
        .map(([m]) => m),
    );
  };

test('brackets come from the probes: least success, greatest failure below it, else the floor', () => {
  const probes = [
    { limit: 100, succeeded: new Set(['a', 'b']) },
    { limit: 50, succeeded: new Set(['a']) },
    { limit: 25, succeeded: new Set<string>() },
    { limit: 200, succeeded: new Set(['a', 'b']) },
  ];
  assert.deepEqual(bracketsOf(['a', 'b', 'c'], probes, 10), [
    { method: 'a', leastSucceeded: 50, greatestFailed: 25 },
    { method: 'b', leastSucceeded: 100, greatestFailed: 50 },
    { method: 'c', leastSucceeded: undefined, greatestFailed: 200 },
  ]);
});

test('one method: geometric bisection from floor 1 and ceiling 1024 to within ×2 takes the hand-counted probes', async () => {
  const log: number[] = [];
  const { brackets } = await leastSucceedingLimits(['m'], thresholdProbe({ m: 100 }, log), {
    floor: 1,
    ceilings: [1024],
    ratio: 2,
    maxProbes: 20,
  });
  // 1024 ok → √1024 = 32 fails → √(32·1024) = 181.02 ok → √(32·181.02) = 76.1 fails → √(76.1·181.02) = 117.4 ok; 117.4/76.1 ≤ 2.
  assert.deepEqual(
    log.map((x) => Math.round(x * 10) / 10),
    [1024, 32, 181, 76.1, 117.4],
  );
  assert.equal(Math.round(brackets[0]!.leastSucceeded! * 10) / 10, 117.4);
  assert.equal(Math.round(brackets[0]!.greatestFailed * 10) / 10, 76.1);
});

test('a method failing at every ceiling stays without a limit; the next ceiling is tried first', async () => {
  const log: number[] = [];
  const { brackets } = await leastSucceedingLimits(['never', 'big'], thresholdProbe({ never: Infinity, big: 300 }, log), {
    floor: 1,
    ceilings: [100, 400, 1600],
    ratio: 1.5,
    maxProbes: 30,
  });
  assert.deepEqual(log.slice(0, 3), [100, 400, 1600]);
  assert.equal(brackets[0]!.leastSucceeded, undefined);
  assert.ok(brackets[1]!.leastSucceeded! >= 300 && brackets[1]!.leastSucceeded! / brackets[1]!.greatestFailed <= 1.5);
});

test('property: every monotone threshold lies in its bracket, and the bracket is within the ratio', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.double({ min: 2, max: 1000, noNaN: true }), { minLength: 1, maxLength: 6 }),
      fc.double({ min: 1.01, max: 3, noNaN: true }),
      async (thresholds, ratio) => {
        const named = Object.fromEntries(thresholds.map((t, i) => [`m${i}`, t]));
        const { brackets, probes } = await leastSucceedingLimits(Object.keys(named), thresholdProbe(named), {
          floor: 1,
          ceilings: [1000],
          ratio,
          maxProbes: 1000,
        });
        for (const b of brackets) {
          const t = named[b.method]!;
          assert.ok(b.greatestFailed < t && t <= b.leastSucceeded!, `${b.method}: ${t} in (${b.greatestFailed}, ${b.leastSucceeded}]`);
          assert.ok(b.leastSucceeded! / b.greatestFailed <= ratio);
        }
        // Shared probes: never more than the per-method bisections would need together (plus the ceiling).
        const each = Math.ceil(Math.log2(Math.log(1000) / Math.log(ratio))) + 1;
        assert.ok(probes.length <= 1 + thresholds.length * each, `${probes.length} probes`);
      },
    ),
    { seed: 8, numRuns: 200 },
  );
});

test('the probe budget is respected', async () => {
  const { probes } = await leastSucceedingLimits(['m'], thresholdProbe({ m: 3 }), {
    floor: 1,
    ceilings: [1e6],
    ratio: 1.001,
    maxProbes: 4,
  });
  assert.equal(probes.length, 4);
});
