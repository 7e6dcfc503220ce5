import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gainSummary } from './four-devices.ts';
import { geneflowGain, type MethodRow } from './runner.ts';

const row = (name: string, latencyMs: number, feasible = true): MethodRow => ({
  name,
  latencyMs,
  ratioToBound: latencyMs / 50,
  feasible,
  maxDevicePeakBytes: 0,
  searchMs: 0,
});

test('GenEFlow gain is over the fastest feasible other method, random search included', () => {
  // Fastest feasible other method: random at 80 ms (lp's 60 ms plan is over a memory limit). 1 − 70/80.
  const gain = geneflowGain({ methods: [row('single', 100), row('lp', 60, false), row('random', 80), row('geneflow', 70)] });
  assert.equal(Math.round(gain! * 1e9) / 1e9, 0.125);
  assert.equal(geneflowGain({ methods: [row('single', 100, false), row('geneflow', 70)] }), undefined);
  assert.equal(geneflowGain({ methods: [row('single', 100), row('geneflow', 70, false)] }), undefined);
});

test('gain summary: mean over comparable models and the count where GenEFlow is not slower', () => {
  const result = (methods: MethodRow[]) => ({
    model: 'm',
    cluster: 'c',
    devices: 4,
    lowerBoundMs: 50,
    best: '',
    methods,
    geneflow: { evaluations: 0, generations: 0, restarts: 0, stopReason: '' },
    wallMs: 0,
  });
  const summary = gainSummary([
    result([row('single', 100), row('geneflow', 50)]), // gain 0.5
    result([row('single', 100), row('geneflow', 110)]), // −0.1
    result([row('single', 100), row('geneflow', 100)]), // 0
    result([row('single', 100, false), row('geneflow', 100)]), // no feasible baseline
  ]);
  assert.deepEqual(
    { ...summary, meanGain: Math.round(summary.meanGain! * 1e9) / 1e9 },
    { models: 4, compared: 3, meanGain: Math.round((0.4 / 3) * 1e9) / 1e9, neverWorse: 2 },
  );
});
