import assert from 'node:assert/strict';
import { test } from 'node:test';
import { threeConvs } from '../fit/testing.ts';
import { withoutTiles } from '../partition/slices.ts';
import type { OpDecision } from '../partition/types.ts';
import { mulberry32 } from '../random.ts';
import { createSimulator } from '../simulate/simulate.ts';
import { randomChromosome, tileableSinks, withTiles } from './encoding.ts';
import { decisionsKey, Evaluator } from './fitness.ts';
import { runGeneflow } from './geneflow.ts';
import { MAX_TILES, mutateTiles, mutationSpace } from './operators.ts';
import { testCluster, testDevice } from './testing.ts';

// threeConvs (docs/memory.md, "Tiled stretches on a cluster") on two devices of 1700 B each. No untiled plan fits: some
// device computes conv2's output (weights w2 576 B whole under a rows split) — rows split: ≥ 4 of b's 8 rows (512 B)
// from ≥ 5 rows of a (640 B): 1728 B; channels split: ≥ 2 of 4 channels (512 B) from all of a (1024 B) and half
// of w2 (288 B): 1824 B; whole: 2048 B of a and b. Four sub-tiles per device (one row of y each) need 1568 B or less.
const LIMIT = 1700;
const cluster = () => testCluster([testDevice('a', { memoryMB: LIMIT / 2 ** 20 }), testDevice('b', { memoryMB: LIMIT / 2 ** 20 })]);
const order = ['conv1', 'conv2', 'conv3'];

test('GenEFlow finds a feasible tiled plan where every untiled plan overflows', async () => {
  const model = threeConvs();
  const c = cluster();
  const sim = createSimulator(model, c, order);
  // Spot check of the hand argument: 300 random untiled plans all overflow.
  const random = mulberry32(3);
  for (let i = 0; i < 300; i++) assert.equal(sim.run(randomChromosome(sim.context, random, 2), { timeline: false }).feasible, false);
  const untiled = await runGeneflow(model, c, order, { seed: 1, maxGenerations: 20, timeLimitMs: 60_000, tiles: false });
  assert.equal(untiled.feasible, false, 'without tiles nothing fits');
  const tiled = await runGeneflow(model, c, order, { seed: 1, maxGenerations: 20, timeLimitMs: 60_000 });
  assert.equal(tiled.feasible, true, `with tiles a plan fits: ${tiled.result.devicePeakBytes}`);
  assert.ok(tiled.plan.ops.some((d) => d.tiles !== undefined && d.tiles >= 2));
  assert.ok(tiled.result.devicePeakBytes.every((b) => b <= LIMIT));
  // Without the structured (and tiled) seeds, the tiles mutation on overflowing parents gets there too.
  const mutated = await runGeneflow(model, c, order, { seed: 1, maxGenerations: 60, timeLimitMs: 60_000, structured: false });
  assert.equal(mutated.feasible, true, `the tiles mutation finds a plan that fits: ${mutated.result.devicePeakBytes}`);
  // The same plan without tiles overflows.
  assert.equal(sim.run(tiled.plan.ops.map(withoutTiles), { timeline: false }).feasible, false);
});

test('tiles gene: keys tell tiled plans apart; the mutation sets, raises and lowers k on a stretch that may take it', () => {
  const model = threeConvs();
  const c = cluster();
  const sim = createSimulator(model, c, order);
  const rows = { dim: 'rows' as const, ratios: [0.5, 0.5] };
  const fused: OpDecision[] = order.map((op, p) => ({ op, placement: rows, sync: p === 2 }));
  assert.deepEqual(
    tileableSinks(sim.context, fused).map((s) => [s.sink, s.positions]),
    [[2, [0, 1, 2]]],
  );
  const tiled = withTiles(sim.context, fused, 4);
  assert.equal(tiled[2]!.tiles, 4);
  assert.notEqual(decisionsKey(tiled), decisionsKey(fused));
  assert.equal(decisionsKey(fused), new Evaluator(sim).keyOf(fused));
  const space = mutationSpace(sim.context, sim.opMs, c);
  const random = mulberry32(1);
  let raised = 0;
  let lowered = 0;
  let plan = fused;
  for (let i = 0; i < 40; i++) {
    const before = plan[2]!.tiles ?? 1;
    plan = mutateTiles(space, plan, [0], random);
    const k = plan[2]!.tiles;
    assert.ok(k === undefined || (Number.isInteger(k) && k >= 2 && k <= MAX_TILES));
    if (i === 0) assert.ok(k === 2 || k === 4, `first: ${k}`);
    if ((k ?? 1) > before) raised++;
    if ((k ?? 1) < before) lowered++;
  }
  assert.ok(raised > lowered && lowered > 0, `raised ${raised}, lowered ${lowered}`);
  // A feasible parent's tiled stretch: only its k moves (or goes), nothing is added where there is none.
  assert.deepEqual(mutateTiles(space, fused, null, random), fused);
});
