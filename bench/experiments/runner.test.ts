import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gainSummary } from './four-devices.ts';
import { geneflowGain, type MethodRow } from './runner.ts';

const row = (name: string, latencyMs: number, feasible = true): MethodRow => ({ name, latencyMs, ratioToBound: latencyMs / 50, feasible, maxDevicePeakBytes: 0, searchMs: 0 });

test('GenEFlow gain is against the fastest other feasible plan', () => {
  // Best other feasible: 100 (the 60 ms plan is over a memory limit). (70 − 100) / 100 = −30%.
  assert.equal(geneflowGain({ methods: [row('single', 100), row('lp', 60, false), row('geneflow', 70)] }), -0.3);
  assert.equal(geneflowGain({ methods: [row('single', 100, false), row('geneflow', 70)] }), undefined);
  assert.equal(geneflowGain({ methods: [row('single', 100), row('geneflow', 70, false)] }), undefined);
});

test('gain summary: mean over comparable models and the count where GenEFlow is not slower', () => {
  const result = (methods: MethodRow[]) => ({ model: 'm', cluster: 'c', devices: 4, lowerBoundMs: 50, best: '', methods, geneflow: { evaluations: 0, generations: 0, stopReason: '' }, wallMs: 0 });
  const summary = gainSummary([
    result([row('single', 100), row('geneflow', 50)]), // −50%
    result([row('single', 100), row('geneflow', 110)]), // +10%
    result([row('single', 100), row('geneflow', 100)]), // 0%
    result([row('single', 100, false), row('geneflow', 100)]), // not comparable
  ]);
  assert.deepEqual({ ...summary, meanGain: Math.round(summary.meanGain! * 1e9) / 1e9 }, { models: 4, compared: 3, meanGain: Math.round((-0.4 / 3) * 1e9) / 1e9, neverWorse: 2 });
});
