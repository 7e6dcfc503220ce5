import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { fail } from '../errors.ts';
import type { Graph, Model } from '../ir/graph.ts';
import { weightBytes } from '../ir/weights.ts';
import { AUTO_EXTERNAL_BYTES, totalWeightBytes, writeModelBytes, writeModelFile } from '../onnx/write.ts';
import { sampleFeeds } from '../zoo/verify.ts';
import { ortTensorBytes, SESSION_OPTIONS, timedRun } from './tensors.ts';

/**
 * The same model with every weight's bytes materialised once (seeded random and filled weights are otherwise
 * generated again by each user: the reference session and the coordinator cutting slices).
 */
export function withInlineWeights(model: Model): Model {
  const initializers = new Map(
    [...model.graph.initializers].map(([name, w]) => [
      name,
      w.data.kind === 'inline' ? w : { ...w, data: { kind: 'inline' as const, bytes: weightBytes(w) } },
    ]),
  );
  return { ...model, graph: { ...model.graph, initializers } };
}

/** The model's inputs as the runtime uses them: the zoo's deterministic sample values, raw bytes by name. */
export function modelInputs(model: Model): Map<string, ort.Tensor> {
  const inputs = model.graph.inputs.map((input) => ({ ...input, shape: model.tensors.get(input.name)!.shape }));
  return new Map(Object.entries(sampleFeeds({ ...model.graph, inputs })));
}

export interface ReferenceRun {
  outputs: Map<string, Uint8Array>;
  /** Median CPU ms of a warm run of the whole model in one onnxruntime session (single intra-op thread). */
  wholeModelMs: number;
  /** CPU ms of each timed run. */
  runsMs: number[];
}

/** One onnxruntime session of the whole (folded) model on fixed inputs, warmed up by one run. */
export interface WholeModelSession {
  /** One run: its outputs' bytes and its CPU ms. */
  run(): Promise<{ outputs: Map<string, Uint8Array>; cpuMs: number }>;
  release(): Promise<void>;
}

export async function openWholeModel(model: Model, inputs: Map<string, ort.Tensor>): Promise<WholeModelSession> {
  const session = await wholeGraphSession(model.graph);
  const feeds = Object.fromEntries(inputs);
  await session.run(feeds);
  return {
    run: async () => {
      const { results, cpuMs } = await timedRun(session, feeds);
      return { outputs: new Map(Object.entries(results).map(([name, t]) => [name, ortTensorBytes(t)])), cpuMs };
    },
    release: () => session.release(),
  };
}

/**
 * A session of a whole graph: from its bytes, or, past protobuf's 2 GB (Qwen2-0.5B's 2.5 GB of weights), from a
 * temporary file with external data, removed once onnxruntime has read it.
 */
export async function wholeGraphSession(graph: Graph, externalAboveBytes = AUTO_EXTERNAL_BYTES): Promise<ort.InferenceSession> {
  if (totalWeightBytes(graph) <= externalAboveBytes) return ort.InferenceSession.create(writeModelBytes(graph), SESSION_OPTIONS);
  const dir = mkdtempSync(join(tmpdir(), 'memorianova-whole-'));
  try {
    const path = join(dir, 'model.onnx');
    writeModelFile(graph, path, { externalData: 'always', inlineBelowBytes: 1024 });
    return await ort.InferenceSession.create(path, SESSION_OPTIONS);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `runs` timed runs of an open whole-model session: the output the distributed run must reproduce, and its CPU time. */
export async function measureReference(whole: WholeModelSession, runs = 1): Promise<ReferenceRun> {
  let outputs = new Map<string, Uint8Array>();
  const times: number[] = [];
  for (let i = 0; i < Math.max(1, runs); i++) {
    const run = await whole.run();
    outputs = run.outputs;
    times.push(run.cpuMs);
  }
  return { outputs, wholeModelMs: median(times), runsMs: times };
}

/** Runs the whole (folded) model in one onnxruntime session: the output the distributed run must reproduce. */
export async function referenceRun(model: Model, inputs: Map<string, ort.Tensor>, runs = 1): Promise<ReferenceRun> {
  const whole = await openWholeModel(model, inputs);
  try {
    return await measureReference(whole, runs);
  } finally {
    await whole.release();
  }
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Largest |distributed − reference| over every element of every float output (docs/runtime.md, "Correctness");
 * integer and boolean outputs must match exactly (a mismatch counts as Infinity).
 */
export function maxAbsError(model: Model, got: Map<string, Uint8Array>, want: Map<string, Uint8Array>): number {
  let worst = 0;
  for (const output of model.graph.outputs) {
    const a = got.get(output.name);
    const b = want.get(output.name);
    if (a === undefined || b === undefined) fail(`output '${output.name}' is missing from a run`, 'runtime-failure');
    const dtype = model.tensors.get(output.name)!.dtype;
    if (dtype === 'float32' || dtype === 'float64') {
      const view = (u: Uint8Array) => (dtype === 'float32' ? new Float32Array(u.slice().buffer) : new Float64Array(u.slice().buffer));
      const x = view(a);
      const y = view(b);
      for (let i = 0; i < x.length; i++) {
        const d = Math.abs(x[i]! - y[i]!);
        if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : d;
      }
    } else if (a.length !== b.length || a.some((v, i) => v !== b[i])) worst = Infinity;
  }
  return worst;
}
