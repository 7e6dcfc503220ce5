import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { smallCnn } from '../runtime/testing.ts';
import { runFit } from './execute.ts';
import type { Model } from '../ir/graph.ts';
import { fitContext, fitModel, type FitExecution } from './fit.ts';
import { tileGroup } from './tiles.ts';
import { analyzeGraph } from '../analysis/analyze.ts';
import { zooEntry } from '../zoo/index.ts';
import { concatChunks, copyFreePi, residualStack, threeConvs, tinyAttention, tinyHeads } from './testing.ts';

const zoo = (name: string) => () => analyzeGraph(zooEntry(name).build({ seqLen: 8, layers: 1 }), { name });

/** Runs one fit execution tile by tile on ONNX Runtime and asserts its outputs equal the whole model's. */
async function runExactly(model: Model, point: FitExecution): ReturnType<typeof runFit> {
  const run = await runFit(
    model,
    point.context,
    point.segments.map((s) => s.segment),
  );
  assert.ok(run.maxAbsError <= 1e-4, `max abs error ${run.maxAbsError}`);
  return run;
}

describe('fit: proof by the runtime (ONNX Runtime, tiles in sequence)', () => {
  for (const [name, build] of [
    ['small CNN', smallCnn],
    ['residual stack', residualStack],
    ['three convs', threeConvs],
    ['tiny attention (token chunks)', tinyAttention],
    ['BERT-base, 1 layer, 8 tokens (token chunks)', zoo('bert-base')],
    ['GPT-2, 1 layer, 8 tokens (token chunks)', zoo('gpt2')],
  ] as const) {
    it(`${name}: the least-peak execution and a middle point of the front give the whole model's outputs`, async () => {
      const model = build();
      const result = fitModel(model, { limitBytes: 1, space: { maxGrid: 3, maxDepth: 5, maxChunks: 3 } });
      const points = [result.leastPeak, result.front[Math.floor(result.front.length / 2)]!];
      assert.ok(result.leastPeak.groups.length > 0, 'the least-peak execution tiles some group');
      for (const point of points) {
        const run = await runExactly(model, point);
        assert.ok(run.steps >= point.groups.length, 'one session per tile and untiled operator');
      }
    });
  }

  for (const [name, build] of [
    ['small CNN', smallCnn],
    ['three convs', threeConvs],
  ] as const) {
    it(`${name} with cached halos: every front point caching some group's halos gives the whole model's outputs`, async () => {
      const model = build();
      const result = fitModel(model, { limitBytes: 1, device: copyFreePi, space: { maxGrid: 3, maxDepth: 5, halo: 'cache' } });
      const points = result.front.filter((e) => e.groups.some((g) => g.halo === 'cache'));
      assert.ok(points.length > 0, 'some front point caches halos');
      for (const point of points) await runExactly(model, point);
    });
  }

  it("concat chunks: a chunk reading one part of a Concat (no Neg in chunk 1) gives the whole model's output", async () => {
    const model = concatChunks();
    const { ctx } = fitContext(model);
    const tiling = tileGroup(ctx, 0, 2, { rows: 2, cols: 1, kind: 'tokens' });
    const run = await runFit(model, ctx, [
      { first: 0, tiling },
      { first: 3, tiling: null },
    ]);
    assert.ok(run.maxAbsError <= 1e-6, `max abs error ${run.maxAbsError}`);
    assert.equal(run.steps, 3, 'two chunks and the MatMul');
  });

  it("tiny heads: one chunk group over both views (q .. y, 2 chunks) gives the whole model's output", async () => {
    const model = tinyHeads();
    const { ctx } = fitContext(model);
    const run = await runFit(model, ctx, [{ first: 0, tiling: tileGroup(ctx, 0, 6, { rows: 2, cols: 1, kind: 'tokens' }) }]);
    assert.ok(run.maxAbsError <= 1e-6, `max abs error ${run.maxAbsError}`);
    assert.equal(run.steps, 2, 'one session per chunk');
  });
});
