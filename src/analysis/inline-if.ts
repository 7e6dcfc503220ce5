import { fail } from '../errors.ts';
import type { Attribute, Node, Subgraph, Weight } from '../ir/graph.ts';
import type { GraphProto, NodeProto } from '../onnx/proto.ts';

/** The nodes and weights that replace an If node once its condition is known. */
export interface InlinedBranch {
  /** In an order where every node comes after the branch nodes it reads. */
  nodes: Node[];
  weights: Weight[];
  /** Tensors the branch reads from outside it (already renamed when the If itself sits in an inlined branch). */
  outer: string[];
}

/**
 * The chosen branch of If node `node`, made ordinary nodes: every tensor and node name the branch defines gets the
 * prefix `<If node name>/` (`<If node name>/1/`, … when that would clash with a name in `taken`), the branch's
 * outputs become the If's outputs, names it does not define stay outer-scope references. A branch output that
 * no branch node produces (an initializer, an outer tensor, one listed twice) reaches the If's output through
 * an Identity node. Sub-graphs of the branch's nodes get their references to the renamed tensors renamed.
 * `taken` gets the new names.
 */
export function inlineBranch(node: Node, key: 'then_branch' | 'else_branch', body: Subgraph, taken: Set<string>): InlinedBranch {
  const branch = `the ${key} of If node '${node.name}'`;
  if (body.outputs.length !== node.outputs.length)
    fail(`${branch} has ${body.outputs.length} outputs, the If has ${node.outputs.length}`, 'invalid-model');
  const defined = new Set<string>(body.initializers.map((w) => w.name));
  for (const inner of body.nodes) for (const output of inner.outputs) if (output !== '') defined.add(output);

  // Branch outputs a branch node produces take the If's output name directly; the others go through Identity.
  const direct = new Map<string, string>();
  const bridged: [string, string][] = [];
  body.outputs.forEach((output, i) => {
    const target = node.outputs[i]!;
    const producedHere = body.nodes.some((inner) => inner.outputs.includes(output));
    if (producedHere && !direct.has(output) && target !== '') direct.set(output, target);
    else if (target !== '') bridged.push([output, target]);
  });

  const localNames = [...defined].filter((name) => !direct.has(name));
  const nodeNames = [...body.nodes.map((n) => n.name), ...bridged.map((_, i) => `output_${i}`)];
  let prefix = `${node.name}/`;
  for (let k = 1; [...localNames, ...nodeNames].some((name) => taken.has(prefix + name)); k++) prefix = `${node.name}/${k}/`;
  const rename = (name: string): string => (name === '' || !defined.has(name) ? name : (direct.get(name) ?? prefix + name));
  for (const name of [...localNames, ...nodeNames]) taken.add(prefix + name);

  const outer = new Set<string>();
  const renamed = body.nodes.map((inner): Node => {
    for (const input of inner.inputs) if (input !== '' && !defined.has(input)) outer.add(input);
    for (const name of freeNames(inner)) if (!defined.has(name)) outer.add(name);
    return {
      ...inner,
      name: prefix + inner.name,
      inputs: inner.inputs.map(rename),
      outputs: inner.outputs.map(rename),
      attributes: renameAttributes(inner.attributes, rename),
    };
  });
  bridged.forEach(([output, target], i) => {
    if (!defined.has(output)) outer.add(output);
    renamed.push({
      name: `${prefix}output_${i}`,
      opType: 'Identity',
      domain: '',
      inputs: [rename(output)],
      outputs: [target],
      attributes: {},
    });
  });
  return {
    nodes: topological(renamed, branch),
    weights: body.initializers.map((w) => ({ ...w, name: rename(w.name) })),
    outer: [...outer],
  };
}

/** Names that the sub-graphs of `node` read from outside themselves (nested sub-graphs included). */
function freeNames(node: Node): string[] {
  const free: string[] = [];
  for (const attribute of Object.values(node.attributes)) {
    const graphs = attribute.type === 'graph' ? [attribute.value] : attribute.type === 'graphs' ? attribute.value : [];
    for (const graph of graphs) free.push(...freeInProto(graph as GraphProto));
  }
  return free;
}

function freeInProto(graph: GraphProto): string[] {
  const defined = new Set<string>([...graph.input.map((v) => v.name), ...graph.initializer.map((t) => t.name)]);
  for (const sparse of graph.sparse_initializer) if (sparse.values) defined.add(sparse.values.name);
  for (const node of graph.node) for (const output of node.output) defined.add(output);
  const free: string[] = [];
  const read = (name: string) => {
    if (name !== '' && !defined.has(name)) free.push(name);
  };
  for (const node of graph.node) {
    node.input.forEach(read);
    for (const attribute of node.attribute)
      for (const inner of [...(attribute.g ? [attribute.g] : []), ...attribute.graphs]) freeInProto(inner).forEach(read);
  }
  graph.output.forEach((o) => read(o.name));
  return free;
}

/** `attributes` with the outer-scope references of their sub-graphs (GraphProto and IR body) renamed. */
function renameAttributes(attributes: Record<string, Attribute>, rename: (name: string) => string): Record<string, Attribute> {
  const out: Record<string, Attribute> = {};
  for (const [key, attribute] of Object.entries(attributes)) {
    let value = attribute;
    if (attribute.type === 'graph') {
      value = { type: 'graph', value: renameProto(attribute.value as GraphProto, rename) };
      if (attribute.body !== undefined) value.body = renameBody(attribute.body, rename);
    } else if (attribute.type === 'graphs') {
      value = { type: 'graphs', value: attribute.value.map((g) => renameProto(g as GraphProto, rename)) };
    }
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** A sub-graph (IR form) whose references to names it does not define go through `rename`. */
function renameBody(body: Subgraph, rename: (name: string) => string): Subgraph {
  const defined = new Set<string>(body.initializers.map((w) => w.name));
  for (const node of body.nodes) for (const output of node.outputs) defined.add(output);
  const outer = (name: string) => (name === '' || defined.has(name) ? name : rename(name));
  return {
    ...body,
    nodes: body.nodes.map((node) => ({ ...node, inputs: node.inputs.map(outer), attributes: renameAttributes(node.attributes, outer) })),
    outputs: body.outputs.map(outer),
  };
}

/** The same for a decoded GraphProto (copies inherit unset fields' defaults from the originals). */
function renameProto(graph: GraphProto, rename: (name: string) => string): GraphProto {
  const defined = new Set<string>([...graph.input.map((v) => v.name), ...graph.initializer.map((t) => t.name)]);
  for (const sparse of graph.sparse_initializer) if (sparse.values) defined.add(sparse.values.name);
  for (const node of graph.node) for (const output of node.output) defined.add(output);
  const outer = (name: string) => (name === '' || defined.has(name) ? name : rename(name));
  return Object.assign(Object.create(graph) as GraphProto, {
    node: graph.node.map((node) =>
      Object.assign(Object.create(node) as NodeProto, {
        input: node.input.map(outer),
        attribute: node.attribute.map((a) =>
          a.g || a.graphs.length > 0
            ? Object.assign(Object.create(a) as typeof a, {
                ...(a.g ? { g: renameProto(a.g, outer) } : {}),
                graphs: a.graphs.map((g) => renameProto(g, outer)),
              })
            : a,
        ),
      }),
    ),
    output: graph.output.map((o) => (outer(o.name) === o.name ? o : Object.assign(Object.create(o) as typeof o, { name: outer(o.name) }))),
  });
}

/** Nodes ordered so each follows the producers of its inputs within the list (file order where it already is). */
function topological(nodes: Node[], what: string): Node[] {
  const producer = new Map<string, number>();
  nodes.forEach((node, i) => node.outputs.forEach((o) => o !== '' && producer.set(o, i)));
  const state = new Array<number>(nodes.length).fill(0);
  const order: Node[] = [];
  const visit = (start: number) => {
    // Iterative depth-first search: a branch may be a long chain.
    const stack: [number, number][] = [[start, 0]];
    state[start] = 1;
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const [i, next] = top;
      const inputs = nodes[i]!.inputs;
      if (next < inputs.length) {
        top[1]++;
        const j = producer.get(inputs[next]!);
        if (j === undefined || state[j] === 2) continue;
        if (state[j] === 1) fail(`${what} has a cycle through node '${nodes[j]!.name}'`, 'cyclic-graph');
        state[j] = 1;
        stack.push([j, 0]);
      } else {
        state[i] = 2;
        order.push(nodes[i]!);
        stack.pop();
      }
    }
  };
  nodes.forEach((_, i) => state[i] === 0 && visit(i));
  return order;
}
