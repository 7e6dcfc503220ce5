import { fail } from '../errors.ts';
import type { Node } from '../ir/graph.ts';
import { Attrs } from './ops/attrs.ts';
import type { OpContext, TensorMeta } from './ops/types.ts';
import { describe } from './ops/util.ts';

function runTime(node: Node, meta: TensorMeta, index: number): never {
  fail(
    `cannot infer the output shape of ${describe(node)}: input ${index} '${meta.name}' is computed at run time, not a constant`,
    'dynamic-shape',
  );
}

/** The view of a node's inputs that operator definitions see. */
export function makeContext(node: Node, opset: number, known: Map<string, TensorMeta>): OpContext {
  const lookup = (index: number): TensorMeta | undefined => {
    const name = node.inputs[index];
    if (name === undefined || name === '') return undefined;
    const meta = known.get(name);
    if (meta === undefined) fail(`${describe(node)}: input '${name}' has no known shape`, 'invalid-model');
    return meta;
  };
  const ctx: OpContext = {
    node,
    opset,
    attrs: new Attrs(node),
    input: (index) => lookup(index) ?? fail(`${describe(node)} is missing required input ${index}`, 'invalid-model'),
    optional: lookup,
    values: (index) => ctx.input(index).value ?? runTime(node, ctx.input(index), index),
    partialValues: (index) => {
      const meta = ctx.input(index);
      return meta.value ?? meta.partial ?? runTime(node, meta, index);
    },
    present: () => node.inputs.map((_, i) => lookup(i)).filter((m): m is TensorMeta => m !== undefined),
  };
  return ctx;
}
