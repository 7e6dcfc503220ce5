import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { convChain, orderOf, testCluster, testDevice } from '../geneflow/testing.ts';
import { runAllMethods } from './methods.ts';

describe('runAllMethods', () => {
  it('runs every method, names the best, and GenEFlow is never worse than any baseline', async () => {
    const model = convChain(3);
    const cluster = testCluster([
      testDevice('a', { latencyMs: 0.2 }),
      testDevice('b', { gflops: 2, latencyMs: 0.2 }),
      testDevice('c', { latencyMs: 0.2 }),
    ]);
    const result = await runAllMethods(model, cluster, orderOf(model), { geneflow: { seed: 1, maxGenerations: 6, timeLimitMs: 600_000 } });
    assert.deepEqual(
      result.methods.map((m) => m.name),
      ['single', 'layerwise', 'proportional', 'lp', 'deepthings', 'heft', 'geneflow', 'random'],
    );
    const geneflow = result.methods.find((m) => m.name === 'geneflow')!;
    for (const m of result.methods) {
      assert.equal(m.devicePeakBytes.length, 3);
      assert.ok(m.simulation.timeline !== undefined);
      if (m.feasible) assert.ok(geneflow.latencyMs <= m.latencyMs + 1e-9, `${m.name}: ${m.latencyMs} < geneflow ${geneflow.latencyMs}`);
    }
    const random = result.methods.find((m) => m.name === 'random')!;
    assert.equal(random.evaluations, result.geneflow.evaluations);
    assert.ok(result.lowerBoundMs <= geneflow.latencyMs);
    assert.equal(result.methods.find((m) => m.name === result.best)!.latencyMs, Math.min(...result.methods.map((m) => m.latencyMs)));
  });
});
