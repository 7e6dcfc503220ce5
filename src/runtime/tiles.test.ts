import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { presetCluster } from '../cluster/presets.ts';
import type { Cluster } from '../cluster/types.ts';
import { threeConvs } from '../fit/testing.ts';
import { withTiles } from '../geneflow/encoding.ts';
import type { Model } from '../ir/graph.ts';
import { partitionContext } from '../partition/context.ts';
import { repairDecisions } from '../partition/slices.ts';
import type { SplitDim } from '../partition/types.ts';
import { makePlan, proportionalPlan } from '../plan/build.ts';
import type { Plan } from '../plan/types.ts';
import { compileProgram } from './program.ts';
import { withInlineWeights } from './reference.ts';
import { runAgainstReference, smallCnn, suiteWorkers } from './testing.ts';
import { runPlanFileAndBundles, scratchDir } from '../cli/testing.ts';
import { loadModel } from '../model/load.ts';

const orderOf = (model: Model) => model.ops.map((op) => op.node.name);

/** The proportional plan, every operator that may be fused fused, and `tiles: k` on every stretch that may take it. */
function tiledPlan(model: Model, cluster: Cluster, dims: SplitDim[], k: number): Plan {
  const base = proportionalPlan(model, cluster, orderOf(model), dims);
  const ctx = partitionContext(model, base.order);
  const fused = repairDecisions(
    ctx,
    base.ops.map((d) => ({ ...d, sync: false })),
  );
  const ops = withTiles(ctx, fused, k);
  assert.ok(
    ops.some((d) => d.tiles === k),
    'the plan has a tiled stretch',
  );
  return makePlan(model, cluster, base.order, ops, 'tiled');
}

describe('tiled stretches run as sequential sub-tile steps and equal one whole-model session', () => {
  const workers = suiteWorkers(3);

  async function check(model: Model, plan: Plan): Promise<number> {
    const program = compileProgram(model, plan);
    // Every device taking part in a tiled stretch runs one step per sub-tile.
    let subTileSteps = 0;
    for (const stretch of program.slices.tiled!) {
      const sink = model.ops[program.slices.ops[stretch.sink]!.index]!.node.outputs[0]!;
      stretch.devices.forEach((tiles, d) => {
        const steps = program.workers[d]!.steps.filter((s) => s.assemble?.some((a) => a.tensor === sink));
        assert.equal(steps.length, tiles?.length ?? 0, `device ${d}: one step per sub-tile of '${sink}'`);
        subTileSteps += steps.length;
      });
    }
    assert.ok(subTileSteps >= 4);
    return (await runAgainstReference(model, plan, workers, { program })).maxAbsError;
  }

  const homo2 = presetCluster('homo2')!;
  const homo3 = { ...presetCluster('homo4')!, devices: presetCluster('homo4')!.devices.slice(0, 3) };
  const cases: Array<[string, () => [Model, Plan]]> = [
    ['threeConvs, rows over two devices, 4 sub-tiles', () => [threeConvs(), tiledPlan(threeConvs(), homo2, ['rows'], 4)]],
    ['small CNN, rows over three devices, 2 sub-tiles', () => [smallCnn(), tiledPlan(smallCnn(), homo3, ['rows'], 2)]],
    ['small CNN, rows over two devices, 3 sub-tiles', () => [smallCnn(), tiledPlan(smallCnn(), homo2, ['rows'], 3)]],
    ['small CNN, channels over two devices, 2 sub-tiles', () => [smallCnn(), tiledPlan(smallCnn(), homo2, ['channels'], 2)]],
    [
      'BERT (1 layer, 8 tokens), tokens over two devices, 2 sub-tiles',
      () => {
        const bert = withInlineWeights(loadModel('bert-base', { layers: 1, seqLen: 8 }));
        return [bert, tiledPlan(bert, homo2, ['tokens', 'heads', 'channels'], 2)];
      },
    ],
  ];
  for (const [name, make] of cases) {
    it(name, async () => {
      const [model, plan] = make();
      const err = await check(model, plan);
      assert.ok(err <= 1e-4, `max abs error ${err}`);
    });
  }
});

it('run --local 2 of a tiled plan file, and of its bundles: the output equals the unsplit model', () => {
  runPlanFileAndBundles(scratchDir('memorianova-tiles-'), 'tiled', (model) => tiledPlan(model, presetCluster('homo2')!, ['rows'], 3));
});
