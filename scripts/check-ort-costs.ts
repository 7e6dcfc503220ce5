// node --import tsx scripts/check-ort-costs.ts: two checks of how ONNX Runtime's CPU time divides, on this host, one
// intra-op thread (docs/runtime.md, "Benchmark"):
// 1. a MatMul's column slices: [128 × 768] × [768 × N] + bias for N = 3072 and its 68%, 50%, 25% slices, each slice's
//    CPU time as a share of the whole's (a share equal to N / 3072 means no cost beyond the slice's share);
// 2. BERT-base (128 tokens) as one session with graph optimisations off and on: what the fusions save.
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../src/ir/builder.ts';
import { loadModel } from '../src/model/load.ts';
import { writeModelBytes } from '../src/onnx/write.ts';
import { median, modelInputs, withInlineWeights } from '../src/runtime/reference.ts';
import { SESSION_OPTIONS, timedRun } from '../src/runtime/tensors.ts';

async function cpuMs(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>, runs: number): Promise<number> {
  await session.run(feeds);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push((await timedRun(session, feeds)).cpuMs);
  await session.release();
  return median(times);
}

async function matmulMs(columns: number): Promise<number> {
  const b = new GraphBuilder(`matmul-${columns}`);
  const x = b.input('x', 'float32', [1, 128, 768]);
  b.output(b.op('Add', [b.op('MatMul', [x, b.weight('w', [768, columns])]), b.weight('bias', [columns])]));
  const session = await ort.InferenceSession.create(writeModelBytes(b.build()), SESSION_OPTIONS);
  return cpuMs(session, { x: new ort.Tensor('float32', new Float32Array(128 * 768).fill(0.5), [1, 128, 768]) }, 15);
}

const whole = await matmulMs(3072);
console.log(`MatMul [128 x 768] x [768 x 3072] + bias: ${whole.toFixed(2)} ms`);
for (const columns of [2089, 1536, 768]) {
  const ms = await matmulMs(columns);
  console.log(
    `  ${columns} columns (${((columns / 3072) * 100).toFixed(0)}%): ${ms.toFixed(2)} ms, ${((ms / whole) * 100).toFixed(1)}% of the whole's time`,
  );
}

const bert = withInlineWeights(loadModel('bert-base'));
const bytes = writeModelBytes(bert.graph);
const feeds = Object.fromEntries(modelInputs(bert));
for (const level of ['disabled', 'all'] as const) {
  const session = await ort.InferenceSession.create(bytes, { ...SESSION_OPTIONS, graphOptimizationLevel: level });
  console.log(`BERT-base, 128 tokens, graph optimisations ${level}: ${(await cpuMs(session, feeds, 5)).toFixed(1)} ms CPU`);
}
