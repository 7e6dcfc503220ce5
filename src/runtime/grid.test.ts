import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cli, runPlanFileAndBundles, scratchDir } from '../cli/testing.ts';
import { presetCluster } from '../cluster/presets.ts';
import { withTiles } from '../geneflow/encoding.ts';
import type { Model } from '../ir/graph.ts';
import { partitionContext } from '../partition/context.ts';
import { repairDecisions } from '../partition/slices.ts';
import type { GridPlacement, OpDecision } from '../partition/types.ts';
import { makePlan } from '../plan/build.ts';
import type { Plan } from '../plan/types.ts';
import { deepThings } from '../baselines/deepthings.ts';
import { Evaluator } from '../geneflow/fitness.ts';
import { runGeneflow } from '../geneflow/geneflow.ts';
import { createSimulator } from '../simulate/simulate.ts';
import { compileProgram } from './program.ts';
import { runAgainstReference, smallCnn, suiteWorkers } from './testing.ts';

const homo4 = presetCluster('homo4')!;

/** Every operator that takes a grid on `grid`, the others on device 0; fused where allowed unless `synced`; `tiles` on every stretch that may take it. */
function gridPlan(model: Model, grid: GridPlacement, options: { synced?: boolean; tiles?: number } = {}): Plan {
  const order = model.ops.map((op) => op.node.name);
  const ctx = partitionContext(model, order);
  let ops: OpDecision[] = repairDecisions(
    ctx,
    order.map((op, p) => ({ op, placement: ctx.space[p]!.grid === null ? { device: 0 } : grid, sync: options.synced === true })),
  );
  if (options.tiles !== undefined) ops = withTiles(ctx, ops, options.tiles);
  return makePlan(model, homo4, order, ops, 'grid');
}

/**
 * The small CNN with its placement changing along the order: a 2×2 grid (conv1–relu1, fused), rows stripes (pool1,
 * conv2), an unequal 2×2 grid (residual, conv3, fused into conv3), channels (conv4), a 1×2 grid (concat, avgpool), the
 * rest on device 2; sync flags repaired.
 */
function mixedPlan(model: Model): Plan {
  const order = model.ops.map((op) => op.node.name);
  const ctx = partitionContext(model, order);
  const unequal: GridPlacement = { dim: 'grid', rows: [0.3, 0.7], cols: [0.6, 0.4], devices: [1, 3, 2, 0] };
  const columns: GridPlacement = { dim: 'grid', rows: [1], cols: [1, 2], devices: [3, 1] };
  const placements: Record<string, OpDecision['placement']> = {
    conv1: square,
    bn1: square,
    relu1: square,
    pool1: { dim: 'rows', ratios: [1, 2, 1, 1] },
    conv2_grouped: { dim: 'rows', ratios: [1, 2, 1, 1] },
    residual: unequal,
    conv3: unequal,
    conv4_dilated: { dim: 'channels', ratios: [1, 1, 1, 1] },
    concat: columns,
    avgpool: columns,
  };
  const ops = repairDecisions(
    ctx,
    order.map((op) => ({ op, placement: placements[op] ?? { device: 2 }, sync: !['conv1', 'bn1', 'residual', 'concat'].includes(op) })),
  );
  assert.ok(ops.filter((d) => !d.sync).length >= 3, 'fused stretches survive repair');
  return makePlan(model, homo4, order, ops, 'grid');
}

const square: GridPlacement = { dim: 'grid', rows: [1, 1], cols: [1, 1], devices: [0, 1, 2, 3] };

describe('grid plans run on four local workers and equal one whole-model session', () => {
  const workers = suiteWorkers(4);

  async function check(model: Model, plan: Plan): Promise<number> {
    return (await runAgainstReference(model, plan, workers)).maxAbsError;
  }

  const cases: Array<[string, () => Plan]> = [
    ['2×2 equal grid, fused where allowed', () => gridPlan(smallCnn(), square)],
    [
      '2×2 unequal grid (rows 2:1, cols 1:3), devices permuted, every operator synchronised',
      () => gridPlan(smallCnn(), { dim: 'grid', rows: [2, 1], cols: [1, 3], devices: [2, 0, 3, 1] }, { synced: true }),
    ],
    [
      '1×2 grid over devices 3 and 1 (columns only), fused',
      () => gridPlan(smallCnn(), { dim: 'grid', rows: [1], cols: [1, 1], devices: [3, 1] }),
    ],
    ['2×2 grid with 2 sub-tiles per tile', () => gridPlan(smallCnn(), square, { tiles: 2 })],
    ['grids, stripes and whole placements mixed (GenEFlow-style transitions)', () => mixedPlan(smallCnn())],
  ];
  for (const [name, make] of cases) {
    it(name, async () => {
      const plan = make();
      assert.ok(plan.ops.some((d) => 'devices' in d.placement));
      const err = await check(smallCnn(), plan);
      assert.ok(err <= 1e-4, `max abs error ${err}`);
    });
  }

  it('what the planners make of the small CNN on homo4 (DeepThings with grids, GenEFlow with grid seeds and mutation) runs exactly', async () => {
    const model = smallCnn();
    const order = model.ops.map((op) => op.node.name);
    const simulator = createSimulator(model, homo4, order);
    const deep = deepThings({ model, cluster: homo4, simulator, evaluator: new Evaluator(simulator) });
    const run = await runGeneflow(model, homo4, order, {
      seed: 2,
      seeds: [deep.best.decisions],
      maxEvaluations: 600,
      timeLimitMs: 600_000,
    });
    for (const plan of [makePlan(model, homo4, order, deep.best.decisions, 'deepthings'), run.plan]) {
      const err = await check(model, plan);
      assert.ok(err <= 1e-4, `${plan.method}: max abs error ${err}`);
    }
  });

  it('the 2×2 plan cuts pads on both axes: the four tiles of the dilated conv keep their own border pads only', () => {
    // conv4_dilated (3×3, dilation 2, pads 2) computes y rows and columns [0,7) or [6,10) of 10 (its halo for the
    // average pool); [top, left, bottom, right] pads are 2 on the borders a tile touches, 0 inside.
    const program = compileProgram(smallCnn(), gridPlan(smallCnn(), square));
    const conv = program.slices.ops.find((o) => o.op === 'conv4_dilated')!;
    assert.deepEqual(
      conv.slices.map((s) => s!.overrides!.pads),
      [
        [2, 2, 0, 0],
        [2, 0, 0, 2],
        [0, 2, 2, 0],
        [0, 0, 2, 2],
      ],
    );
  });
});

it('run --local 4 of a 2×2 grid plan file, and of its bundles: the output equals the unsplit model; simulate reads it', () => {
  const { modelPath, planPath } = runPlanFileAndBundles(scratchDir('memorianova-grid-'), 'grid', (model) => gridPlan(model, square));
  const simulated = cli('simulate', modelPath, '--plan', planPath);
  assert.equal(simulated.status, 0, simulated.stderr);
});
