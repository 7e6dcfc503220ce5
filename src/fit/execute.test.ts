import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { smallCnn } from '../runtime/testing.ts';
import { runFit } from './execute.ts';
import { fitModel } from './fit.ts';
import { analyzeGraph } from '../analysis/analyze.ts';
import { zooEntry } from '../zoo/index.ts';
import { residualStack, threeConvs, tinyAttention } from './testing.ts';

const zoo = (name: string) => () => analyzeGraph(zooEntry(name).build({ seqLen: 8, layers: 1 }), { name });

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
        const run = await runFit(
          model,
          point.context,
          point.segments.map((s) => s.segment),
        );
        assert.ok(run.maxAbsError <= 1e-4, `max abs error ${run.maxAbsError}`);
        assert.ok(run.steps >= point.groups.length, 'one session per tile and untiled operator');
      }
    });
  }
});
