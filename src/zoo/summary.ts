import { analyzeGraph } from '../analysis/analyze.ts';
import type { Dim } from '../ir/graph.ts';
import type { ZooEntry } from './entry.ts';
import { countParams } from '../ir/params.ts';
import { ZOO } from './index.ts';

/** One line of `memorianova zoo`: a built-in model at its default input. */
export interface ZooSummary {
  name: string;
  title: string;
  family: 'cnn' | 'transformer';
  /** Graph inputs at the default batch (and sequence length): name → shape. */
  inputs: Record<string, Dim[]>;
  /** Transformers: the default layer count the figures are for. */
  layers?: number;
  params: number;
  publishedParams: number;
  /** Sum of operator FLOPs (a multiply-add counts 2) at the default input, from analyzeGraph. */
  flops: number;
  source: string;
}

export function summarizeEntry(entry: ZooEntry): ZooSummary {
  const graph = entry.build();
  const model = analyzeGraph(graph, { name: entry.name });
  const summary: ZooSummary = {
    name: entry.name,
    title: entry.title,
    family: entry.family,
    inputs: Object.fromEntries(graph.inputs.map((i) => [i.name, i.shape ?? []])),
    params: countParams(graph),
    publishedParams: entry.publishedParams,
    flops: model.ops.reduce((sum, op) => sum + op.cost.flops, 0),
    source: entry.source,
  };
  if (entry.defaults.layers !== undefined) summary.layers = entry.defaults.layers;
  return summary;
}

export function summarizeZoo(): ZooSummary[] {
  return ZOO.map(summarizeEntry);
}
