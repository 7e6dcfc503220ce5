import type { Model, TensorInfo } from '../ir/graph.ts';
import { countParams, type FileTensorCounts } from '../ir/params.ts';

export interface ModelSummary {
  /** Operators in the folded graph. */
  operators: number;
  /** Operator type → count, most frequent first. */
  opsByType: Record<string, number>;
  /** countParams of the folded graph: float weights, BatchNorm running statistics and integer constants excluded. */
  params: number;
  /** Elements the file declared as initializers and as Constant nodes, before folding, of any type. */
  fileTensors: FileTensorCounts;
  /** Bytes of all weights of the folded graph, whatever their type. */
  weightBytes: number;
  /** Sum of the operators' FLOPs (a multiply-add counts 2). */
  flops: number;
  /** The largest activation tensors, largest first (ties by name). */
  largestActivations: TensorInfo[];
  opaqueOperators: number;
}

/** Totals over a model, as `memorianova inspect` prints them (definitions: docs/costs.md). */
export function summarize(model: Model, options: { largest?: number } = {}): ModelSummary {
  const counts = new Map<string, number>();
  for (const op of model.ops) counts.set(op.node.opType, (counts.get(op.node.opType) ?? 0) + 1);
  const opsByType = Object.fromEntries([...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
  let weightBytes = 0;
  for (const tensor of model.tensors.values()) if (tensor.kind === 'weight') weightBytes += tensor.bytes;
  const activations = [...model.tensors.values()].filter((t) => t.kind === 'activation');
  activations.sort((a, b) => b.bytes - a.bytes || a.name.localeCompare(b.name));
  return {
    operators: model.ops.length,
    opsByType,
    params: countParams(model.graph),
    fileTensors: model.fileTensors,
    weightBytes,
    flops: model.ops.reduce((sum, op) => sum + op.cost.flops, 0),
    largestActivations: activations.slice(0, options.largest ?? 5),
    opaqueOperators: model.ops.filter((op) => op.opaque).length,
  };
}
