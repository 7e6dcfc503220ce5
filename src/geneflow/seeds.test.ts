import { isStripe } from '../partition/types.ts';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { wholeOn } from '../baselines/common.ts';
import { analyzeGraph } from '../analysis/analyze.ts';
import { createSimulator } from '../simulate/simulate.ts';
import { zooEntry } from '../zoo/index.ts';
import { Evaluator, type Evaluated } from './fitness.ts';
import { mutationSpace } from './operators.ts';
import { dimsOf } from './encoding.ts';
import { tinyAttention } from '../fit/testing.ts';
import {
  gatheringOps,
  HEAD_FRACTIONS,
  headStart,
  HOME_FRACTIONS,
  HOME_SHARES,
  offloadHome,
  redundancy,
  structuredSeeds,
  syncWhereHalosGrow,
  withHomeShare,
} from './seeds.ts';
import { convChain, orderOf, residualStack, testCluster, testDevice } from './testing.ts';

/** GPT-2 with `layers` layers of 8 tokens on three alike devices: its simulator, an evaluator and its mutation space. */
function smallGpt2(layers: number) {
  const model = analyzeGraph(zooEntry('gpt2').build({ layers, seqLen: 8 }));
  const cluster = testCluster(['a', 'b', 'c'].map((name) => testDevice(name, { memoryMB: 4096 })));
  const sim = createSimulator(model, cluster, orderOf(model));
  return { sim, evaluator: new Evaluator(sim), space: mutationSpace(sim.context, sim.opMs, cluster) };
}

const rowsFused = (n: number, ratios: number[]) =>
  Array.from({ length: n }, (_, p) => ({ op: `conv${p + 1}`, placement: { dim: 'rows' as const, ratios }, sync: p === n - 1 }));

describe('redundancy and syncWhereHalosGrow', () => {
  const model = convChain(4, 8, 16);
  const cluster = testCluster([testDevice('a'), testDevice('b')]);
  const sim = createSimulator(model, cluster, orderOf(model));

  it('a fused 3×3 chain split 8/8 rows: each layer down the stack computes one more halo row per device', () => {
    // conv4 (synchronised): 8 + 8 rows; conv3: 9 + 9; conv2: 10 + 10; conv1: 11 + 11 (of 16).
    assert.deepEqual(redundancy(sim, rowsFused(4, [0.5, 0.5])), [22 / 16, 20 / 16, 18 / 16, 1]);
  });

  it('synchronises where the accumulated halo compute passes the limit', () => {
    const opMs = sim.opMs[0]![0]!;
    // Halo cost (r − 1) × (t + t) / 2²: conv3 t/16; conv2 t/8, t/16 + t/8 = 3t/16 in all, past a limit of t/10, so
    // conv2 is synchronised; then conv1, one layer below a synchronised one, costs t/16 and stays fused.
    const synced = syncWhereHalosGrow(sim, rowsFused(4, [0.5, 0.5]), opMs / 10);
    assert.deepEqual(
      synced.map((d) => d.sync),
      [false, true, false, true],
    );
    assert.deepEqual(
      syncWhereHalosGrow(sim, rowsFused(4, [0.5, 0.5]), 0).map((d) => d.sync),
      [true, true, true, true],
    );
    assert.deepEqual(
      syncWhereHalosGrow(sim, rowsFused(4, [0.5, 0.5]), Number.POSITIVE_INFINITY).map((d) => d.sync),
      [false, false, false, true],
    );
  });
});

describe('structuredSeeds', () => {
  it('stops when the budget says so: exactly the plans it was allowed', () => {
    const model = residualStack(3, false);
    const cluster = testCluster([testDevice('a'), testDevice('b', { gflops: 2 }), testDevice('c')]);
    const sim = createSimulator(model, cluster, orderOf(model));
    const evaluator = new Evaluator(sim);
    const space = mutationSpace(sim.context, sim.opMs, cluster);
    let calls = 0;
    const seeds = structuredSeeds(sim, space, space.structure, [wholeOn(sim.context, 0)], (c) =>
      ++calls > 7 ? undefined : evaluator.evaluate(c),
    );
    assert.equal(seeds.length, 7);
    assert.equal(calls, 8);
  });

  it('holds the expert plans: a family pattern, fused row prefixes on every device subset with the home device (alike devices once)', () => {
    const model = residualStack(3, false);
    const cluster = testCluster([testDevice('a', { gflops: 2 }), testDevice('b'), testDevice('c', { uplinkMbps: 500 })]);
    const sim = createSimulator(model, cluster, orderOf(model));
    const evaluator = new Evaluator(sim);
    const space = mutationSpace(sim.context, sim.opMs, cluster);
    const n = sim.context.order.length;
    // A given seed: block 1 split by rows over a and b, fused, everything else on a.
    const given = wholeOn(sim.context, 0).map((d, p) =>
      p >= 5 && p < 10 ? { ...d, placement: { dim: 'rows' as const, ratios: [0.5, 0.5, 0] }, sync: p === 9 } : d,
    );
    const seeds = structuredSeeds(sim, space, space.structure, [given], (c) => evaluator.evaluate(c));
    const plans = seeds.map((e) => e.decisions);
    const splitAt = (plan: Evaluated['decisions'], p: number) => plan[p]!.placement;
    // 1. The pattern of block 1 copied onto blocks 0 and 2.
    assert.ok(
      plans.some((plan) =>
        [0, 5, 10].every((s) => JSON.stringify(splitAt(plan, s)) === JSON.stringify({ dim: 'rows', ratios: [0.5, 0.5, 0] })),
      ),
      'family pattern seed',
    );
    // 3. Fused prefixes up to the end of block 0 (position 5) over {a, b}, {a, c}, {a, b, c} (and {b, c}), rest on a.
    for (const devices of [
      [0, 1],
      [0, 2],
      [0, 1, 2],
      [1, 2],
    ]) {
      const found = plans.some((plan) => {
        const first = plan[0]!.placement;
        if (!isStripe(first)) return false;
        const users = first.ratios.flatMap((r, d) => (r > 0 ? [d] : []));
        return (
          JSON.stringify(users) === JSON.stringify(devices) &&
          plan.slice(0, 4).every((d) => !d.sync) &&
          plan[4]!.sync &&
          plan.slice(5).every((d) => 'device' in d.placement && d.placement.device === 0)
        );
      });
      assert.ok(found, `prefix to position 5 over devices ${devices}`);
    }
    assert.ok(plans.every((plan) => plan.length === n));
    // With b and c alike, {a, c} is {a, b} again: not tried.
    const alike = testCluster([testDevice('a', { gflops: 2 }), testDevice('b'), testDevice('c')]);
    const alikeSim = createSimulator(model, alike, orderOf(model));
    const alikeSpace = mutationSpace(alikeSim.context, alikeSim.opMs, alike);
    const alikeEvaluator = new Evaluator(alikeSim);
    const alikePlans = structuredSeeds(alikeSim, alikeSpace, alikeSpace.structure, [], (c) => alikeEvaluator.evaluate(c)).map(
      (e) => e.decisions,
    );
    const prefixOver = (plan: Evaluated['decisions'], users: number[]) => {
      const first = plan[0]!.placement;
      return (
        isStripe(first) &&
        JSON.stringify(first.ratios.flatMap((r, d) => (r > 0 ? [d] : []))) === JSON.stringify(users) &&
        plan[4]!.sync &&
        'device' in plan[5]!.placement
      );
    };
    assert.ok(
      alikePlans.some((plan) => prefixOver(plan, [0, 1])),
      'prefix over {a, b}',
    );
    assert.ok(!alikePlans.some((plan) => prefixOver(plan, [0, 2])), 'no prefix over {a, c}');
    // 5. Home-share sweeps: some plan gives device a (the home: fastest) its share × each factor.
    assert.ok(seeds.length >= HOME_SHARES.length, `${seeds.length} seeds`);
  });

  it('transformers: a token-parallel plan over all devices synchronised once per layer', () => {
    const { sim, evaluator, space } = smallGpt2(2);
    const { blocks } = space.structure;
    assert.equal(blocks.length >= 2, true, 'two layers found');
    let first: Evaluated | undefined;
    structuredSeeds(sim, space, space.structure, [], (c) => (first === undefined ? (first = evaluator.evaluate(c)) : undefined));
    const layers = blocks.filter((b) => b.canonical.length > 1);
    for (const block of layers) {
      const inside = first!.decisions.slice(block.start, block.end);
      assert.ok(
        inside.slice(0, -1).every((d) => !d.sync || 'device' in d.placement),
        'no synchronisation inside a layer but at whole operators',
      );
      assert.equal(inside[inside.length - 1]!.sync, true);
      const split = inside.find((d) => !('device' in d.placement))!.placement;
      assert.ok(isStripe(split) && split.ratios.every((r) => r > 0), 'split over every device');
    }
    assert.ok(
      first!.decisions.some((d) => !('device' in d.placement) && d.placement.dim === 'tokens'),
      'tokens',
    );
  });
});

describe('head seeds', () => {
  it('the operators after the last stage of repeated blocks get their own home share, the layers keeping theirs', () => {
    const { sim, evaluator, space } = smallGpt2(3);
    const start = headStart(space.structure);
    const n = sim.context.order.length;
    assert.ok(start > 0 && start < n, 'a head after the layers');
    const seeds = structuredSeeds(sim, space, space.structure, [], (c) => evaluator.evaluate(c));
    const homeShare = (d: Evaluated['decisions'][number]) => (isStripe(d.placement) ? d.placement.ratios[0]! : null);
    for (const share of HEAD_FRACTIONS) {
      assert.ok(
        seeds.some((e) => {
          const head = e.decisions.slice(start).filter((d) => isStripe(d.placement));
          const layers = e.decisions.slice(0, start).map(homeShare);
          return (
            head.length > 0 &&
            head.every((d) => Math.abs(homeShare(d)! - share) < 1e-9) &&
            layers.some((h) => h !== null && Math.abs(h - share) > 1e-6)
          );
        }),
        `a seed with the head at home share ${share} and the layers at another`,
      );
    }
  });
});

describe('offload seeds', () => {
  // Tiny attention: q, k, kᵀ, v, s = q·kᵀ, p = softmax(s), o = p·v, y = o + x, over 8 tokens.
  const model = tinyAttention();
  const cluster = testCluster([testDevice('a'), testDevice('b')]);
  const sim = createSimulator(model, cluster, orderOf(model));
  const byTokens = orderOf(model).map((op) => ({ op, placement: { dim: 'tokens' as const, ratios: [0.5, 0.5] }, sync: true }));

  it('gatheringOps: split by tokens, the scores and the context product read every key and value', () => {
    // s's slices are 4 × 8 scores reading all of kᵀ (2 × 8); o's are 4 × 2 reading all of v (8 × 2); the others read
    // their own tokens' rows.
    assert.deepEqual(gatheringOps(sim, byTokens), [false, false, false, false, true, false, true, false]);
  });

  it('offloadHome: what feeds only the gathering products stays home with them; the residual add is split', () => {
    const home = offloadHome(sim.context, new Array(8).fill(-1), gatheringOps(sim, byTokens));
    assert.deepEqual(home, [true, true, true, true, true, true, true, false]);
  });

  it('withHomeShare: the home share set, the others scaled to the rest; none without a helper', () => {
    assert.deepEqual(withHomeShare([0.25, 0.25, 0.5, 0], 0, 0.7), [0.7, 0.1, 0.2, 0]);
    assert.equal(withHomeShare([1, 0], 0, 0.8), null);
  });

  it('structuredSeeds includes them: attention whole on the home device, the rest split with the home share swept', () => {
    const evaluator = new Evaluator(sim);
    const space = mutationSpace(sim.context, sim.opMs, cluster);
    const seeds = structuredSeeds(sim, space, space.structure, [], (c) => evaluator.evaluate(c));
    for (const share of HOME_FRACTIONS) {
      assert.ok(
        seeds.some((e) => {
          const [first, , , , , , , last] = e.decisions;
          return 'device' in first!.placement && isStripe(last!.placement) && Math.abs(last!.placement.ratios[0]! - share) < 1e-3;
        }),
        `an offload seed with home share ${share}`,
      );
    }
  });

  it('come right after the layer-parallel seeds, before the many plans of the policy descent', () => {
    const { sim, evaluator, space } = smallGpt2(2);
    // Layer-parallel: k = 3 and 2 devices × three preferences × (as built, synchronised where halos grow).
    const layerParallel = 2 * 3 * 2;
    let budget = layerParallel + HOME_FRACTIONS.length;
    const seeds = structuredSeeds(sim, space, space.structure, [], (c) => (--budget < 0 ? undefined : evaluator.evaluate(c)));
    const offloaded = seeds.slice(layerParallel);
    assert.equal(offloaded.length, HOME_FRACTIONS.length);
    const tokenOps = (e: Evaluated) => e.decisions.filter((_, p) => dimsOf(sim.context, p).includes('tokens'));
    for (const e of seeds.slice(0, layerParallel))
      assert.ok(
        tokenOps(e).every((d) => isStripe(d.placement)),
        'layer-parallel: all split',
      );
    for (const e of offloaded) {
      const placements = tokenOps(e).map((d) => isStripe(d.placement));
      assert.ok(placements.includes(true) && placements.includes(false), 'offload: some token-splittable operators kept home');
    }
  });
});
