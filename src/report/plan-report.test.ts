import assert from 'node:assert/strict';
import { test } from 'node:test';
import { presetCluster } from '../cluster/presets.ts';
import { planOrder } from '../ordering/plan.ts';
import { singleDevicePlan } from '../plan/build.ts';
import { smallCnn } from '../runtime/testing.ts';
import { simulate } from '../simulate/simulate.ts';
import { BOUND_PARTS } from './plan-report.ts';

test("the report defines every part of the simulator's lower bound, and nothing else", () => {
  const model = smallCnn();
  const cluster = presetCluster('homo2')!;
  const result = simulate(model, cluster, singleDevicePlan(model, cluster, planOrder(model, { timeLimitMs: 1000 }).orderNames));
  assert.deepEqual(Object.keys(BOUND_PARTS).sort(), Object.keys(result.lowerBound).sort(), 'one definition per bound part');
});
