import * as ort from 'onnxruntime-node';
import { analyzeGraph } from '../analysis/analyze.ts';
import { summarize } from '../analysis/summary.ts';
import type { Graph, Model } from '../ir/graph.ts';
import { memoryGraphOf } from '../memory/graph.ts';
import { evaluateOrder } from '../memory/model.ts';

/**
 * Deterministic inputs for a zoo graph: images from a sine wave, token ids spread over the first 30000 ids
 * (inside every zoo vocabulary), alternating token types, every token attended.
 */
export function sampleFeeds(graph: Graph): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const input of graph.inputs) {
    const shape = input.shape as number[];
    const n = shape.reduce((a, b) => a * b, 1);
    if (input.dtype === 'int64') {
      const value = (i: number) => (input.name === 'attention_mask' ? 1 : input.name === 'token_type_ids' ? i % 2 : (i * 7919) % 30000);
      feeds[input.name] = new ort.Tensor(
        'int64',
        BigInt64Array.from({ length: n }, (_, i) => BigInt(value(i))),
        shape,
      );
    } else {
      feeds[input.name] = new ort.Tensor(
        'float32',
        Float32Array.from({ length: n }, (_, i) => Math.sin(i)),
        shape,
      );
    }
  }
  return feeds;
}

export interface OnnxRun {
  outputs: { name: string; dims: number[]; finite: boolean }[];
  loadMs: number;
  runMs: number;
}

/** Loads an exported file in onnxruntime-node and runs it once on sampleFeeds. */
export async function runExported(path: string, graph: Graph): Promise<OnnxRun> {
  const start = performance.now();
  const session = await ort.InferenceSession.create(path);
  const loaded = performance.now();
  try {
    const results = await session.run(sampleFeeds(graph));
    const ran = performance.now();
    const outputs = Object.entries(results).map(([name, tensor]) => ({
      name,
      dims: [...tensor.dims],
      finite: (tensor.data as Float32Array).every(Number.isFinite),
    }));
    return { outputs, loadMs: loaded - start, runMs: ran - loaded };
  } finally {
    await session.release();
  }
}

/** The numbers `inspect` reports for a model, which an exported and re-imported file must reproduce. */
export interface ModelNumbers {
  operators: number;
  params: number;
  weightBytes: number;
  flops: number;
  /** Peak live activation bytes of the file's order under the default memory rules (docs/memory.md). */
  peakBytes: number;
}

export function modelNumbers(model: Model): ModelNumbers {
  const { operators, params, weightBytes, flops } = summarize(model);
  const graph = memoryGraphOf(model);
  const peakBytes = evaluateOrder(
    graph,
    graph.ops.map((_, i) => i),
  ).peakBytes;
  return { operators, params, weightBytes, flops, peakBytes };
}

/** Activation and input tensors (what the memory model sizes) → shape. */
export function activationShapes(model: Model): Map<string, number[]> {
  return new Map([...model.tensors.values()].filter((t) => t.kind !== 'weight').map((t) => [t.name, t.shape]));
}

export interface ImportComparison {
  built: ModelNumbers;
  imported: ModelNumbers;
  /** Tensors whose shape differs or that exist on one side only. */
  shapeMismatches: string[];
}

/** Analyses the built graph and its re-imported file and compares the numbers planning relies on. */
export function compareImport(built: Graph, imported: Graph): ImportComparison {
  const a = analyzeGraph(built);
  const b = analyzeGraph(imported);
  const shapesA = activationShapes(a);
  const shapesB = activationShapes(b);
  const names = new Set([...shapesA.keys(), ...shapesB.keys()]);
  const shapeMismatches = [...names].filter((n) => JSON.stringify(shapesA.get(n)) !== JSON.stringify(shapesB.get(n)));
  return { built: modelNumbers(a), imported: modelNumbers(b), shapeMismatches };
}
