import { fail } from '../errors.ts';
import type { AttributeProto, FunctionProto, NodeProto } from './proto.ts';

/** Calls nested deeper than this are taken for recursion, which ONNX forbids. */
const MAX_DEPTH = 32;
/** Expansion stops here: nested calls can multiply a few nodes into billions. */
const MAX_NODES = 5_000_000;

/**
 * Expands calls of model-local functions (ModelProto.functions) into their bodies, so the graph holds only
 * operators. A call is a node whose (domain, op_type, overload) names a function. In the body, the function's
 * formal inputs and outputs become the call's tensors, every other tensor and node name gets the prefix
 * `<call node name>/`, and attributes that refer to a function attribute (`ref_attr_name`) take the call's
 * value, else the function's default, else are left out. Sub-graphs inside a body are kept as they are.
 */
export function inlineFunctions(nodes: NodeProto[], functions: FunctionProto[]): NodeProto[] {
  if (functions.length === 0) return nodes;
  const byId = new Map(functions.map((f) => [functionId(f.domain, f.name, f.overload), f]));
  let made = 0;
  const expand = (list: NodeProto[], depth: number): NodeProto[] =>
    list.flatMap((node, index) => {
      const fn = byId.get(functionId(node.domain, node.op_type, node.overload));
      if (fn === undefined) return [node];
      if (depth >= MAX_DEPTH) fail(`model-local function '${fn.name}' calls itself (directly or not), which ONNX forbids`, 'invalid-model');
      made += fn.node.length;
      if (made > MAX_NODES) fail(`model-local functions expand to more than ${MAX_NODES} nodes`, 'invalid-model');
      return expand(instantiate(fn, node, node.name === '' ? `${node.op_type}_${index}` : node.name), depth + 1);
    });
  return expand(nodes, 0);
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
