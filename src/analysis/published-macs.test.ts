import { test } from 'node:test';
import assert from 'node:assert/strict';
import { zooEntry } from '../zoo/index.ts';
import { analyzeGraph } from './analyze.ts';

/** torchvision's published compute per model at its default input ("GFLOPS" in its tables = 10⁹ multiply-adds). */
const PUBLISHED_GMACS: Record<string, number> = {
  resnet50: 4.09,
  vgg13: 11.31,
  'mobilenetv3-large': 0.22,
  googlenet: 1.5,
  'squeezenet1.0': 0.82,
  inceptionv3: 5.71,
  'regnety-400mf': 0.4,
};

test('Conv/Gemm FLOPs reproduce the published multiply-accumulate counts within 2%', () => {
  for (const [name, gmacs] of Object.entries(PUBLISHED_GMACS)) {
    const model = analyzeGraph(zooEntry(name).build());
    const flops = model.ops
      .filter((op) => op.node.opType === 'Conv' || op.node.opType === 'Gemm')
      .reduce((sum, op) => sum + op.cost.flops, 0);
    const ours = flops / 2 / 1e9;
    assert.ok(Math.abs(ours - gmacs) / gmacs < 0.02, `${name}: ${ours.toFixed(3)} GMAC vs published ${gmacs}`);
  }
});
