import { fail } from '../errors.ts';
import { count, importLimits, overLimit, type ImportLimits } from './limits.ts';
import type { AttributeProto, FunctionProto, NodeProto } from './proto.ts';

/**
 * Expands calls of model-local functions (ModelProto.functions) into their bodies, so the graph holds only
 * operators. A call is a node whose (domain, op_type, overload) names a function. In the body, the function's
 * formal inputs and outputs become the call's tensors, every other tensor and node name gets the prefix
 * `<call node name>/`, and attributes that refer to a function attribute (`ref_attr_name`) take the call's
 * value, else the function's default, else are left out. Sub-graphs inside a body are kept as they are.
 *
 * Before anything is copied, every function's expanded size and nesting depth are computed from the bodies
 * alone, so functions that call each other into billions of nodes are refused at once, naming the function.
 */
export function inlineFunctions(nodes: NodeProto[], functions: FunctionProto[], limits: ImportLimits = importLimits()): NodeProto[] {
  const byId = new Map(functions.map((f) => [functionId(f.domain, f.name, f.overload), f]));
  const callee = (node: NodeProto) => (byId.size === 0 ? undefined : byId.get(functionId(node.domain, node.op_type, node.overload)));
  const sizes = new Map<FunctionProto, number>();
  const open: FunctionProto[] = [];
  /** Nodes one call of `fn` expands to. */
  const size = (fn: FunctionProto): number => {
    const known = sizes.get(fn);
    if (known !== undefined) return known;
    if (open.includes(fn))
      fail(
        `model-local function '${fn.name}' calls itself (${[...open.slice(open.indexOf(fn)), fn].map((f) => f.name).join(' → ')}), which ONNX forbids`,
        'invalid-model',
      );
    if (open.length >= limits.maxFunctionDepth) {
      const chain = open.length > 4 ? [...open.slice(0, 2).map((f) => f.name), '…', open.at(-1)!.name] : open.map((f) => f.name);
      fail(
        `calls of model-local functions nest ${open.length + 1} deep at function '${fn.name}' (${[...chain, fn.name].join(' → ')}), ${overLimit(limits, 'maxFunctionDepth')}`,
        'invalid-model',
      );
    }
    open.push(fn);
    let total = 0;
    for (const node of fn.node) {
      const inner = callee(node);
      total += inner === undefined ? 1 : size(inner);
    }
    open.pop();
    sizes.set(fn, total);
    return total;
  };
  let total = 0;
  let largest: { fn: FunctionProto; nodes: number } | undefined;
  for (const node of nodes) {
    const fn = callee(node);
    const nodesOfCall = fn === undefined ? 1 : size(fn);
    total += nodesOfCall;
    if (fn !== undefined && (largest === undefined || nodesOfCall > largest.nodes)) largest = { fn, nodes: nodesOfCall };
  }
  if (total > limits.maxNodes) {
    fail(
      largest === undefined
        ? `the graph has ${count(total)} nodes, ${overLimit(limits, 'maxNodes')}`
        : `model-local functions expand the graph to ${count(total)} nodes, ${overLimit(limits, 'maxNodes')}: one call of function '${largest.fn.name}' alone expands to ${count(largest.nodes)} nodes`,
      'invalid-model',
    );
  }
  if (largest === undefined) return nodes;
  const expand = (list: NodeProto[]): NodeProto[] =>
    list.flatMap((node, index) => {
      const fn = callee(node);
      if (fn === undefined) return [node];
      return expand(instantiate(fn, node, node.name === '' ? `${node.op_type}_${index}` : node.name));
    });
  return expand(nodes);
}

function functionId(domain: string, name: string, overload: string): string {
  return JSON.stringify([domain === 'ai.onnx' ? '' : domain, name, overload]);
}

function instantiate(fn: FunctionProto, call: NodeProto, callName: string): NodeProto[] {
  if (call.input.length > fn.input.length || call.output.length > fn.output.length) {
    fail(
      `node '${callName}' calls function '${fn.name}' with ${call.input.length} inputs and ${call.output.length} outputs; it takes ${fn.input.length} and ${fn.output.length}`,
      'invalid-model',
    );
  }
  const rename = new Map<string, string>();
  fn.input.forEach((formal, i) => rename.set(formal, call.input[i] ?? ''));
  fn.output.forEach((formal, i) => rename.set(formal, call.output[i] ?? ''));
  const local = (name: string) => (name === '' ? '' : (rename.get(name) ?? `${callName}/${name}`));
  const given = new Map(call.attribute.map((a) => [a.name, a]));
  const defaults = new Map(fn.attribute_proto.map((a) => [a.name, a]));
  // Copies inherit from the originals: decoded messages keep unset fields' defaults on their prototypes.
  return fn.node.map((node, j) =>
    Object.assign(Object.create(node) as NodeProto, {
      name: `${callName}/${node.name === '' ? `${node.op_type}_${j}` : node.name}`,
      input: node.input.map(local),
      output: node.output.map(local),
      attribute: node.attribute.flatMap((a): AttributeProto[] => {
        if (a.ref_attr_name === '') return [a];
        const value = given.get(a.ref_attr_name) ?? defaults.get(a.ref_attr_name);
        return value === undefined ? [] : [Object.assign(Object.create(value) as AttributeProto, { name: a.name })];
      }),
    }),
  );
}
