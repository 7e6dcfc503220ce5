import { elementCount, isFloatType } from './dtype.ts';
import type { Graph } from './graph.ts';

/**
 * Initializers that are statistics rather than learned parameters: BatchNormalization's running mean and
 * variance (inputs 3 and 4). PyTorch keeps them as buffers, so published parameter counts leave them out.
 */
function batchNormStatistics(graph: Graph): Set<string> {
  const statistics = new Set<string>();
  for (const node of graph.nodes) {
    if (node.opType !== 'BatchNormalization' || node.domain !== '') continue;
    for (const input of node.inputs.slice(3, 5)) if (input !== '') statistics.add(input);
  }
  return statistics;
}

/**
 * Parameters of a graph: the elements of its floating-point initializers, BatchNormalization running
 * statistics excluded (docs/zoo.md, "Parameters"). A weight shared by several operators (tied embeddings) is one
 * initializer and so is counted once.
 */
export function countParams(graph: Graph): number {
  const statistics = batchNormStatistics(graph);
  let total = 0;
  for (const weight of graph.initializers.values()) {
    if (isFloatType(weight.dtype) && !statistics.has(weight.name)) total += elementCount(weight.shape);
  }
  return total;
}
