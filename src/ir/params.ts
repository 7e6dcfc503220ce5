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

/**
 * What a file declares, before folding (docs/costs.md, "Model totals"): the elements of its initializers and,
 * separately, of its Constant nodes' tensors, of any type. Exporters put weights in either place (torch.onnx
 * keeps parameters as initializers and small literals as Constant nodes; constant folding moves some between them).
 */
export interface FileTensorCounts {
  initializerElements: number;
  constantNodeElements: number;
}

export function countFileTensors(graph: Graph, constantShape: (node: Graph['nodes'][number]) => number[]): FileTensorCounts {
  let initializerElements = 0;
  for (const weight of graph.initializers.values()) initializerElements += elementCount(weight.shape);
  let constantNodeElements = 0;
  for (const node of graph.nodes) {
    if (node.opType === 'Constant' && (node.domain === '' || node.domain === 'ai.onnx'))
      constantNodeElements += elementCount(constantShape(node));
  }
  return { initializerElements, constantNodeElements };
}
