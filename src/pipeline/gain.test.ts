import assert from 'node:assert/strict';
import { test } from 'node:test';
import { geneflowGain, latencyGain } from './methods.ts';

const row = (name: string, latencyMs: number, feasible = true) => ({ name, latencyMs, feasible });

test('gain is measured against the fastest feasible other method, random search included', () => {
  // lp (60 ms) is infeasible: the reference is random at 80 ms → 1 − 70/80; without random it is single at 100 ms.
  const result = geneflowGain([row('single', 100), row('lp', 60, false), row('random', 80), row('geneflow', 70)]);
  assert.equal(result?.baseline, 'random');
  assert.ok(Math.abs(result!.gain - 0.125) < 1e-12);
  assert.ok(Math.abs(geneflowGain([row('single', 100), row('geneflow', 70)])!.gain - 0.3) < 1e-12);
  assert.equal(geneflowGain([row('single', 100, false), row('geneflow', 70)]), undefined);
  assert.equal(geneflowGain([row('single', 100), row('geneflow', 70, false)]), undefined);
});

test('latencyGain, the report’s "GenEFlow vs it": 1 − 70 / 100 = 30%, and −25% when 125 against 100', () => {
  assert.ok(Math.abs(latencyGain(70, 100) - 0.3) < 1e-12, 'lower');
  assert.equal(latencyGain(125, 100), -0.25, 'higher');
});
