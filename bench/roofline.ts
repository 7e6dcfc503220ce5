/**
 * Memory-bound operators, predicted vs measured (npm run bench:roofline [-- --models resnet50,bert-base,gpt2
 * --layers 2 --seq-len 128 --runs 7]): on this machine, one ONNX Runtime thread. The host as a device: its
 * effective GFLOP/s (Σ FLOPs / median CPU ms of the whole model in one session, as `run` measures it) and its
 * memory bandwidth (a STREAM-like Add of two 8 Mi-element float32 vectors in one session: 3 × 32 MiB moved per
 * run). Every fusion group (analysis/fusion.ts) runs alone as a sub-model built as a runtime step (all graph
 * optimisations, so ONNX Runtime fuses it as in the whole model), its time the median CPU ms minus that of an empty
 * step (one Identity). Per model the table sums, over the memory-intensive groups (no Conv, MatMul or Gemm in them:
 * element-wise, normalisation, softmax, data movement; aliases such as Reshape move nothing and are left out) and
 * over the others, the measured, FLOPs-only (FLOPs / host GFLOP/s) and roofline + fusion (latency.ts with
 * memoryGBps) milliseconds (docs/latency.md, "Roofline").
 */
import * as ort from 'onnxruntime-node';
import { fusionGroups } from '../src/analysis/fusion.ts';
import { formatTable } from '../src/cli/options.ts';
import type { Device } from '../src/cluster/types.ts';
import { GraphBuilder } from '../src/ir/builder.ts';
import type { Model, Weight } from '../src/ir/graph.ts';
import { loadModel } from '../src/model/load.ts';
import { modelFingerprint } from '../src/model/fingerprint.ts';
import { writeModelBytes } from '../src/onnx/write.ts';
import { boxShape, fullBox } from '../src/partition/box.ts';
import { partitionContext } from '../src/partition/context.ts';
import type { Box } from '../src/partition/types.ts';
import { wireNode, type ProgramOp, type WorkerProgram } from '../src/runtime/program.ts';
import { median, measureReference, modelInputs, openWholeModel, withInlineWeights } from '../src/runtime/reference.ts';
import { boxKey, weightSlice } from '../src/runtime/regions.ts';
import { buildStepModel, syntheticFeeds, type HeldWeight } from '../src/runtime/submodel.ts';
import { SESSION_OPTIONS, timedRun } from '../src/runtime/tensors.ts';
import { wholeOpMs } from '../src/simulate/latency.ts';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const models = flag('models', 'resnet50,bert-base,gpt2').split(',');
const layers = Number(flag('layers', '2'));
const seqLen = Number(flag('seq-len', '128'));
const runs = Number(flag('runs', '7'));
const log = (text: string) => process.stderr.write(`${text}\n`);
/** Groups holding one of these are the compute-heavy ones; the rest are element-wise, normalisation, softmax, data movement. */
const HEAVY = new Set(['Conv', 'ConvTranspose', 'MatMul', 'Gemm']);

async function medianCpuMs(graphBytes: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<number> {
  const session = await ort.InferenceSession.create(graphBytes, SESSION_OPTIONS);
  try {
    await session.run(feeds);
    const times: number[] = [];
    for (let i = 0; i < runs; i++) times.push((await timedRun(session, feeds)).cpuMs);
    return median(times);
  } finally {
    await session.release();
  }
}

/** GB/s of one ONNX Runtime thread adding two n-element float32 vectors (reads 2 × 4n bytes, writes 4n). */
async function hostBandwidth(n: number): Promise<number> {
  const b = new GraphBuilder('stream-add');
  b.output(b.op('Add', [b.input('a', 'float32', [n]), b.input('b', 'float32', [n])], {}, 'add'));
  const data = new Float32Array(n).map((_, i) => Math.sin(i));
  const ms = await medianCpuMs(writeModelBytes(b.build()), {
    a: new ort.Tensor('float32', data, [n]),
    b: new ort.Tensor('float32', data, [n]),
  });
  return (3 * n * 4) / (ms * 1e6);
}

/** CPU ms of an empty step: a session run's own cost, taken off every group's time. */
async function emptyStepMs(): Promise<number> {
  const b = new GraphBuilder('empty');
  b.output(b.op('Identity', [b.input('x', 'float32', [1])], {}, 'id'));
  return medianCpuMs(writeModelBytes(b.build()), { x: new ort.Tensor('float32', new Float32Array(1), [1]) });
}

/** A fusion group's operators, whole, as one runtime step's sub-model with synthetic inputs. */
function groupStep(model: Model, members: number[]): { bytes: Uint8Array; feeds: Record<string, ort.Tensor> } {
  const ctx = partitionContext(
    model,
    model.ops.map((op) => op.node.name),
  );
  const weights = new Map<string, HeldWeight>();
  const meta: WorkerProgram['weights'] = [];
  const addWeight = (weight: Weight, box: Box | null): string => {
    const region = box ?? fullBox(weight.shape);
    const key = `${weight.name}@${boxKey(region)}`;
    if (!weights.has(key)) {
      weights.set(key, { dtype: weight.dtype, shape: boxShape(region), bytes: weightSlice(weight, region) });
      meta.push({ key, dtype: weight.dtype, box: region });
    }
    return key;
  };
  const held = new Map<string, Box>();
  const dtypes: WorkerProgram['dtypes'] = {};
  const produced = new Set(members.flatMap((i) => model.ops[i]!.node.outputs));
  const ops: ProgramOp[] = members.map((i) => {
    const node = model.ops[i]!.node;
    const outputs = ctx.geometry[i]!.outputShapes.map((shape) => fullBox(shape));
    const { inputs, overrides } = ctx.geometry[i]!.inputs(outputs);
    const weightKeys = node.inputs.map((tensor, j) => {
      const info = model.tensors.get(tensor);
      const box = inputs[j];
      if (tensor === '' || box == null || info === undefined) return null;
      if (info.kind === 'weight') return addWeight(model.graph.initializers.get(tensor)!, box);
      if (!produced.has(tensor)) held.set(tensor, fullBox(info.shape));
      dtypes[tensor] = info.dtype;
      return null;
    });
    for (const t of node.outputs) if (t !== '') dtypes[t] = model.tensors.get(t)!.dtype;
    const slice = { device: 0, outputs, inputs, flops: model.ops[i]!.cost.flops, ...(overrides === undefined ? {} : { overrides }) };
    return { position: i, node: wireNode(node, addWeight), slice, weights: weightKeys };
  });
  const program: WorkerProgram = { device: 0, name: 'group', dtypes, weights: meta, steps: [], opset: model.graph.opset };
  if (model.graph.opsetImports !== undefined) program.opsetImports = model.graph.opsetImports;
  const last = model.ops[members[members.length - 1]!]!.node.outputs.filter((t) => t !== '');
  const step = { name: 'group', gathers: [], uploads: [], boundaryBytes: 0, ops };
  const built = buildStepModel(program, step, held, weights, new Set(last));
  return { bytes: writeModelBytes(built.graph), feeds: syntheticFeeds(built, dtypes) };
}

// Vectors far larger than the caches.
const gbps = await hostBandwidth(8 * 2 ** 20);
const emptyMs = await emptyStepMs();
log(`host: ${gbps.toFixed(2)} GB/s (one thread, STREAM-like Add of 3 × 32 MiB), empty step ${(emptyMs * 1000).toFixed(1)} µs`);
const rows: Array<Array<string | number>> = [];
for (const name of models) {
  const transformer = name.startsWith('bert') || name.startsWith('gpt');
  const model = withInlineWeights(loadModel(name, transformer ? { layers, seqLen } : {}));
  const whole = await openWholeModel(model, modelInputs(model));
  const reference = await measureReference(whole, runs);
  await whole.release();
  const flops = model.ops.reduce((n, op) => n + op.cost.flops, 0);
  const hostGflops = flops / (reference.wholeModelMs * 1e6);
  const host: Device = { name: 'host', gflops: hostGflops, memoryMB: 1e6, uplinkMbps: 1, downlinkMbps: 1, latencyMs: 0 };
  const roofline: Device = { ...host, memoryGBps: gbps };
  const fingerprint = modelFingerprint(model);
  const sums = new Map<string, { groups: number; ops: number; measured: number; flopsOnly: number; predicted: number }>();
  for (const group of fusionGroups(model).groups) {
    if (group.bytes === 0) continue;
    const kind = group.ops.some((i) => HEAVY.has(model.ops[i]!.node.opType)) ? 'with Conv/MatMul/Gemm' : 'memory-intensive';
    const { bytes, feeds } = groupStep(model, group.ops);
    const sum = sums.get(kind) ?? { groups: 0, ops: 0, measured: 0, flopsOnly: 0, predicted: 0 };
    sum.measured += Math.max(0, (await medianCpuMs(bytes, feeds)) - emptyMs);
    sum.flopsOnly += group.ops.reduce((s, i) => s + wholeOpMs(host, model, i, fingerprint), 0);
    sum.predicted += group.ops.reduce((s, i) => s + wholeOpMs(roofline, model, i, fingerprint), 0);
    sum.groups++;
    sum.ops += group.ops.length;
    sums.set(kind, sum);
  }
  log(`${name}: host ${hostGflops.toFixed(1)} GFLOP/s, whole model ${reference.wholeModelMs.toFixed(1)} ms`);
  for (const kind of ['memory-intensive', 'with Conv/MatMul/Gemm']) {
    const sum = sums.get(kind);
    if (sum === undefined) continue;
    const err = (p: number) => `${p >= sum.measured ? '+' : ''}${(((p - sum.measured) / sum.measured) * 100).toFixed(0)}%`;
    rows.push([
      transformer ? `${name} (${layers} layers, ${seqLen} tokens)` : name,
      hostGflops.toFixed(1),
      kind,
      `${sum.groups} (${sum.ops} ops)`,
      sum.measured.toFixed(2),
      sum.flopsOnly.toFixed(2),
      err(sum.flopsOnly),
      sum.predicted.toFixed(2),
      err(sum.predicted),
    ]);
  }
}
process.stdout.write(
  `host: ${gbps.toFixed(2)} GB/s, one ONNX Runtime thread; medians of ${runs} runs\n\n` +
    formatTable(
      ['model', 'host GFLOP/s', 'groups', 'n (ops)', 'measured ms', 'FLOPs only ms', 'error', 'roofline + fusion ms', 'error'],
      rows,
    ) +
    '\n',
);
