import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSimulator } from '../simulate/simulate.ts';
import type { SimulationResult } from '../simulate/types.ts';
import { wholeOn } from '../baselines/common.ts';
import { RandomSearch } from '../baselines/random.ts';
import { mulberry32 } from '../random.ts';
import { randomChromosome } from './encoding.ts';
import { Evaluator, fitnessOf, INFEASIBLE_PENALTY_MS } from './fitness.ts';
import { runGeneflow } from './geneflow.ts';
import { mutationSpace } from './operators.ts';
import { gridSeeds, structuredSeeds } from './seeds.ts';
import { convChain, orderOf, residualStack, testCluster, testDevice } from './testing.ts';

const result = (latencyMs: number, violations: SimulationResult['violations'] = []) => ({ latencyMs, violations }) as SimulationResult;

describe('fitness', () => {
  it('is the latency of a feasible plan', () => {
    assert.equal(fitnessOf(result(12.5)), 12.5);
  });
  it('ranks every feasible plan above every infeasible one, and smaller overflows above larger', () => {
    const over = (peak: number) => [{ device: 0, deviceName: 'a', peakBytes: peak, limitBytes: 100 }];
    const slowFeasible = fitnessOf(result(1e8));
    const fastSmallOverflow = fitnessOf(result(1, over(110)));
    const fastLargeOverflow = fitnessOf(result(1, over(300)));
    assert.ok(slowFeasible < fastSmallOverflow);
    assert.ok(fastSmallOverflow < fastLargeOverflow);
    // 1 ms + penalty × (1 + 10/100)
    assert.equal(fastSmallOverflow, 1 + INFEASIBLE_PENALTY_MS * 1.1);
  });
});

describe('GenEFlow', () => {
  it('two identical devices with free links: finds a plan at the lower bound (half the compute each)', async () => {
    const model = convChain(3);
    const cluster = testCluster([
      testDevice('a', { uplinkMbps: 1e7, downlinkMbps: 1e7 }),
      testDevice('b', { uplinkMbps: 1e7, downlinkMbps: 1e7 }),
    ]);
    const order = orderOf(model);
    const single = createSimulator(model, cluster, order).run(wholeOn(createSimulator(model, cluster, order).context, 0));
    const run = await runGeneflow(model, cluster, order, { seed: 3, timeLimitMs: 60_000, maxGenerations: 60 });
    const totalMs = model.ops.reduce((s, op) => s + op.cost.flops, 0) / 1e6;
    assert.ok(run.feasible);
    // The lower bound is half the compute; the best split reaches it up to transfer time (< 1%).
    assert.ok(run.latencyMs <= (totalMs / 2) * 1.01, `${run.latencyMs} vs half of ${totalMs}`);
    assert.ok(run.latencyMs < single.latencyMs * 0.51);
  });

  it('feasibility wins over speed: the fast device that cannot hold the model is not used alone', async () => {
    const model = convChain(3, 16, 32);
    const bytes = [...model.tensors.values()].filter((t) => t.kind === 'weight').reduce((s, t) => s + t.bytes, 0);
    const tiny = (bytes / 2 ** 20) * 0.5;
    const cluster = testCluster([testDevice('fast', { gflops: 100, memoryMB: tiny }), testDevice('slow', { gflops: 1 })]);
    const order = orderOf(model);
    const sim = createSimulator(model, cluster, order);
    assert.equal(sim.run(wholeOn(sim.context, 0)).feasible, false);
    const run = await runGeneflow(model, cluster, order, {
      seed: 1,
      seeds: [wholeOn(sim.context, 0)],
      maxGenerations: 30,
      timeLimitMs: 60_000,
    });
    assert.ok(run.feasible);
    assert.ok(run.result.devicePeakBytes[0]! <= tiny * 2 ** 20);
  });

  it('is reproducible: the same seed gives the same plan and history', async () => {
    const model = convChain(4);
    const cluster = testCluster([testDevice('a'), testDevice('b', { gflops: 2 }), testDevice('c', { latencyMs: 0.01 })]);
    const options = { seed: 7, maxGenerations: 8, timeLimitMs: 600_000 };
    const a = await runGeneflow(model, cluster, orderOf(model), options);
    const b = await runGeneflow(model, cluster, orderOf(model), options);
    assert.deepEqual(a.plan, b.plan);
    assert.deepEqual(
      a.history.map((h) => [h.best, h.mean, h.evaluations]),
      b.history.map((h) => [h.best, h.mean, h.evaluations]),
    );
  });

  it('is never worse than the best seed, and its history never gets worse', async () => {
    const model = convChain(4);
    const cluster = testCluster([testDevice('a', { latencyMs: 1 }), testDevice('b', { gflops: 3, latencyMs: 1 })]);
    const order = orderOf(model);
    const sim = createSimulator(model, cluster, order);
    const evaluator = new Evaluator(sim);
    const seeds = [wholeOn(sim.context, 0), wholeOn(sim.context, 1)];
    const bestSeed = Math.min(...seeds.map((s) => evaluator.evaluate(s).fitness));
    const run = await runGeneflow(model, cluster, order, { seed: 2, seeds, maxGenerations: 10, timeLimitMs: 600_000 });
    assert.ok(run.latencyMs <= bestSeed);
    for (let g = 1; g < run.history.length; g++) assert.ok(run.history[g]!.best <= run.history[g - 1]!.best);
  });

  it('property: never worse than any of its seeds (random seed plans, several models and clusters)', async () => {
    for (const [layers, devices, seed] of [
      [3, 2, 1],
      [5, 3, 2],
      [7, 4, 3],
    ] as const) {
      const model = convChain(layers);
      const cluster = testCluster(Array.from({ length: devices }, (_, d) => testDevice(`d${d}`, { gflops: 1 + d, latencyMs: 0.5 })));
      const order = orderOf(model);
      const sim = createSimulator(model, cluster, order);
      const evaluator = new Evaluator(sim);
      const random = mulberry32(100 + seed);
      const seeds = Array.from({ length: 5 }, () => randomChromosome(sim.context, random, devices));
      const bestSeed = Math.min(...seeds.map((s) => evaluator.evaluate(s).fitness));
      const run = await runGeneflow(model, cluster, order, { seed, seeds, maxGenerations: 5, timeLimitMs: 600_000 });
      assert.ok(run.latencyMs <= bestSeed + 1e-9, `${layers} layers, ${devices} devices: ${run.latencyMs} > seed ${bestSeed}`);
    }
  });

  it('property: no worse than random search at equal evaluations (no seeds, no rival)', async () => {
    const slowLinks = { uplinkMbps: 100, downlinkMbps: 100 };
    for (const [layers, cluster, seed] of [
      [3, testCluster([testDevice('a', { latencyMs: 0.2 }), testDevice('b', { gflops: 2, latencyMs: 0.2 }), testDevice('c')]), 1],
      [5, testCluster([testDevice('a', { latencyMs: 1 }), testDevice('b', { gflops: 3, latencyMs: 1 })]), 2],
      [8, testCluster(['a', 'b', 'c', 'd'].map((n) => testDevice(n, slowLinks))), 3],
    ] as const) {
      const model = convChain(layers);
      const order = orderOf(model);
      const run = await runGeneflow(model, cluster, order, { seed, maxEvaluations: 200, timeLimitMs: 600_000 });
      assert.equal(run.stopReason, 'evaluations');
      const random = new RandomSearch(createSimulator(model, cluster, order), seed);
      random.step(run.evaluations);
      assert.equal(random.evaluations, run.evaluations);
      assert.ok(
        run.latencyMs <= random.best!.result.latencyMs,
        `${layers} layers: ${run.latencyMs} > random ${random.best!.result.latencyMs}`,
      );
    }
  });

  it('property: structured — never worse than any structured seed nor random search at equal evaluations', async () => {
    for (const [blocks, devices, seed] of [
      [3, 2, 1],
      [4, 3, 2],
      [3, 4, 3],
    ] as const) {
      const model = residualStack(blocks, blocks === 4);
      const cluster = testCluster(
        Array.from({ length: devices }, (_, d) =>
          testDevice(`d${d}`, { gflops: 1 + d, latencyMs: 0.2, uplinkMbps: 200, downlinkMbps: 200 }),
        ),
      );
      const order = orderOf(model);
      const sim = createSimulator(model, cluster, order);
      const evaluator = new Evaluator(sim);
      const space = mutationSpace(sim.context, sim.opMs, cluster);
      const given = [wholeOn(sim.context, 0)];
      const structured = structuredSeeds(sim, space, space.structure, given, (c) => evaluator.evaluate(c));
      // Then the grid seeds, made from the best of the given and structured seeds.
      structured.push(
        ...gridSeeds(sim.context, devices, [...given.map((g) => evaluator.evaluate(g)), ...structured], (c) => evaluator.evaluate(c)),
      );
      const bestSeed = Math.min(...structured.map((e) => e.fitness));
      const run = await runGeneflow(model, cluster, order, {
        seed,
        seeds: given,
        maxEvaluations: 400,
        seedingShare: 1,
        timeLimitMs: 600_000,
      });
      assert.equal(run.structuredSeeds, structured.length, 'every structured seed was simulated');
      assert.ok(run.latencyMs <= bestSeed + 1e-9, `${blocks} blocks, ${devices} devices: ${run.latencyMs} > structured seed ${bestSeed}`);
      const random = new RandomSearch(createSimulator(model, cluster, order), seed);
      random.step(run.evaluations);
      assert.equal(random.evaluations, run.evaluations);
      assert.ok(run.latencyMs <= random.best!.result.latencyMs, `${run.latencyMs} > random ${random.best!.result.latencyMs}`);
    }
  });

  it('anytime: renews a stagnating population instead of stopping, and the best never gets worse', async () => {
    const model = convChain(3);
    const cluster = testCluster([testDevice('a'), testDevice('b', { gflops: 2 })]);
    const run = await runGeneflow(model, cluster, orderOf(model), { seed: 4, patience: 2, maxGenerations: 30, timeLimitMs: 600_000 });
    assert.equal(run.stopReason, 'generations');
    assert.equal(run.generations, 30);
    assert.ok(run.restarts > 0);
    for (let g = 1; g < run.history.length; g++) assert.ok(run.history[g]!.best <= run.history[g - 1]!.best);
  });

  it("takes the rival's best plan when it is better", async () => {
    const model = convChain(4);
    const cluster = testCluster([testDevice('a', { latencyMs: 1 }), testDevice('b', { gflops: 3, latencyMs: 1 })]);
    const order = orderOf(model);
    const sim = createSimulator(model, cluster, order);
    // A rival that always offers the plan whole on the fast device; a GA without seeds must end at most there.
    const offered = new Evaluator(sim).evaluate(wholeOn(sim.context, 1));
    let steps = 0;
    const run = await runGeneflow(model, cluster, order, {
      seed: 1,
      maxGenerations: 2,
      timeLimitMs: 600_000,
      rival: { step: () => (steps++, offered) },
    });
    assert.equal(steps, 3);
    assert.ok(run.latencyMs <= offered.result.latencyMs);
  });

  it('evaluates in worker threads with the same answer as in this thread', async () => {
    const model = convChain(3);
    const cluster = testCluster([testDevice('a'), testDevice('b', { gflops: 2 })]);
    const options = { seed: 5, maxGenerations: 4, timeLimitMs: 600_000 };
    const inline = await runGeneflow(model, cluster, orderOf(model), options);
    const threaded = await runGeneflow(model, cluster, orderOf(model), { ...options, workers: 2 });
    assert.deepEqual(threaded.plan, inline.plan);
    assert.equal(threaded.latencyMs, inline.latencyMs);
  });
});
