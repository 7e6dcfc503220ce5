import assert from 'node:assert/strict';
import { test } from 'node:test';
import { geneflowGain } from './methods.ts';

const row = (name: string, latencyMs: number, feasible = true) => ({ name, latencyMs, feasible });

test('gain is measured against the fastest feasible baseline, never against random search', () => {
  // lp (60 ms) is infeasible and random (50 ms) is no baseline: the reference is single at 100 ms → 1 − 70/100.
  const result = geneflowGain([row('single', 100), row('lp', 60, false), row('random', 50), row('geneflow', 70)]);
  assert.equal(result?.baseline, 'single');
  assert.ok(Math.abs(result!.gain - 0.3) < 1e-12);
  assert.equal(geneflowGain([row('single', 100, false), row('geneflow', 70)]), undefined);
  assert.equal(geneflowGain([row('single', 100), row('geneflow', 70, false)]), undefined);
});
