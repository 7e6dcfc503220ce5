import * as ort from 'onnxruntime-node';
import { analyzeGraph } from '../analysis/analyze.ts';
import { GraphBuilder } from '../ir/builder.ts';
import { writeModelBytes } from '../onnx/write.ts';
import { median, modelInputs, withInlineWeights } from './reference.ts';
import { SESSION_OPTIONS, timedRun } from './tensors.ts';

/** Timed runs of the benchmark after one warm-up run. */
const BENCHMARK_RUNS = 5;

/**
 * The compute benchmark a worker runs for `memorianova probe` (docs/runtime.md, "Probing a cluster"): built in code,
 * never read from a file or the network. A ResNet-style 3×3 convolution (64 → 64 channels at 56 × 56) with its ReLU,
 * and a BERT-style projection (128 tokens × 768 → 3,072, GELU-free), the two operator kinds that dominate the zoo's
 * FLOPs; 0.84 GFLOPs in all, under the cost model that prices every plan (docs/costs.md).
 */
export function benchmarkModel() {
  const b = new GraphBuilder('probe-benchmark');
  const image = b.input('image', 'float32', [1, 64, 56, 56]);
  b.output(b.op('Relu', [b.op('Conv', [image, b.weight('conv_w', [64, 64, 3, 3]), b.weight('conv_b', [64])], { pads: [1, 1, 1, 1] })]));
  const tokens = b.input('tokens', 'float32', [1, 128, 768]);
  b.output(b.op('MatMul', [tokens, b.weight('proj_w', [768, 3072])]));
  return withInlineWeights(analyzeGraph(b.build()));
}

export interface ComputeMeasurement {
  /** FLOPs of the benchmark under the cost model. */
  flops: number;
  /** Median wall-clock ms of one run. */
  ms: number;
  runs: number;
  threads: number;
}

/** Runs the benchmark with the worker's own session options: the speed its steps will see. */
export async function benchmarkCompute(): Promise<ComputeMeasurement> {
  const model = benchmarkModel();
  const session = await ort.InferenceSession.create(writeModelBytes(model.graph), SESSION_OPTIONS);
  try {
    const feeds = Object.fromEntries(modelInputs(model));
    await session.run(feeds);
    const times: number[] = [];
    for (let i = 0; i < BENCHMARK_RUNS; i++) times.push((await timedRun(session, feeds)).wallMs);
    return {
      flops: model.ops.reduce((sum, op) => sum + op.cost.flops, 0),
      ms: median(times),
      runs: BENCHMARK_RUNS,
      threads: SESSION_OPTIONS.intraOpNumThreads ?? 1,
    };
  } finally {
    await session.release();
  }
}
