import { fail } from '../errors.ts';
import type { Graph, Node } from './graph.ts';

export interface GraphIndex {
  /** Tensor name → index of the node producing it (absent for graph inputs and weights). */
  producer: Map<string, number>;
  /** Tensor name → indices of the nodes reading it, in node order, each node once. */
  consumers: Map<string, number[]>;
}

export function indexGraph(graph: Graph): GraphIndex {
  const producer = new Map<string, number>();
  const consumers = new Map<string, number[]>();
  graph.nodes.forEach((node, i) => {
    for (const out of node.outputs) {
      if (out === '') continue;
      if (producer.has(out)) {
        fail(`tensor '${out}' is produced by two nodes: '${graph.nodes[producer.get(out)!]!.name}' and '${node.name}'`, 'invalid-model');
      }
      producer.set(out, i);
    }
    for (const input of new Set(node.inputs)) {
      if (input === '') continue;
      const list = consumers.get(input);
      if (list === undefined) consumers.set(input, [i]);
      else list.push(i);
    }
  });
  return { producer, consumers };
}

/**
 * Checks the structural rules every later stage relies on: unique node names, one producer per tensor,
 * every input defined (graph input, weight or node output), every graph output defined, no cycles, and
 * no node writing a graph input or weight. Returns the nodes in a topological order (file order where the
 * file is already topological, as ONNX requires; otherwise a stable Kahn order).
 */
export function validateGraph(graph: Graph): Node[] {
  const names = new Set<string>();
  for (const node of graph.nodes) {
    if (names.has(node.name)) fail(`two nodes are named '${node.name}'`, 'invalid-model');
    names.add(node.name);
  }
  const { producer, consumers } = indexGraph(graph);
  const external = new Set<string>([...graph.inputs.map((i) => i.name), ...graph.initializers.keys()]);
  for (const name of producer.keys()) {
    if (external.has(name))
      fail(`node '${graph.nodes[producer.get(name)!]!.name}' writes '${name}', which is a graph input or weight`, 'invalid-model');
  }
  for (const node of graph.nodes) {
    for (const input of node.inputs) {
      if (input !== '' && !producer.has(input) && !external.has(input)) {
        fail(`node '${node.name}' (${node.opType}) reads tensor '${input}', which no node, input or weight defines`, 'invalid-model');
      }
    }
  }
  for (const output of graph.outputs) {
    if (!producer.has(output.name) && !external.has(output.name)) {
      fail(`graph output '${output.name}' is not defined by any node, input or weight`, 'invalid-model');
    }
  }
  return topologicalOrder(graph, producer, consumers);
}

function topologicalOrder(graph: Graph, producer: Map<string, number>, consumers: Map<string, number[]>): Node[] {
  const n = graph.nodes.length;
  const pending = new Array<number>(n).fill(0);
  graph.nodes.forEach((node, i) => {
    const preds = new Set<number>();
    for (const input of node.inputs) {
      const p = producer.get(input);
      if (p !== undefined) preds.add(p);
    }
    if (preds.has(i)) fail(`node '${node.name}' (${node.opType}) reads its own output: the graph has a cycle`, 'cyclic-graph');
    pending[i] = preds.size;
  });
  // Kahn's algorithm, always taking the lowest-index ready node so a topological file order is kept as is.
  const ready: number[] = [];
  for (let i = 0; i < n; i++) if (pending[i] === 0) ready.push(i);
  const order: Node[] = [];
  const heapPush = (v: number) => {
    ready.push(v);
    ready.sort((a, b) => a - b);
  };
  while (ready.length > 0) {
    const i = ready.shift()!;
    order.push(graph.nodes[i]!);
    const next = new Set<number>();
    for (const out of graph.nodes[i]!.outputs) for (const c of consumers.get(out) ?? []) next.add(c);
    for (const c of next) if (--pending[c]! === 0) heapPush(c);
  }
  if (order.length < n) {
    const stuck = graph.nodes.filter((_, i) => pending[i]! > 0).map((node) => node.name);
    fail(`the graph has a cycle through ${stuck.length} node(s), e.g. '${stuck.slice(0, 3).join("', '")}'`, 'cyclic-graph');
  }
  return order;
}
