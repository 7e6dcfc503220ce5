import { fail } from '../errors.ts';
import { elementCount } from '../ir/dtype.ts';
import type { Node, Weight } from '../ir/graph.ts';
import { SHAPE_ONLY_FOLDS } from './ops/generate.ts';
import type { OpContext, OpDef, OutputType } from './ops/types.ts';
import { canEncode, encodeValues } from './values.ts';

/** Constants with at most this many elements carry their values through folding. */
export const FOLD_LIMIT = 4096;

/** Elements folding may compute over a whole graph (folded and partial values); beyond it sub-graphs stay run-time operators. */
export const FOLD_BUDGET = 1 << 22;

/** A Constant node's value as a weight named after its output (value, value_float(s), value_int(s)). */
export function constantToWeight(node: Node): Weight {
  const output = node.outputs[0];
  if (output === undefined || output === '') fail(`Constant node '${node.name}' has no output`, 'invalid-model');
  const attrs = node.attributes;
  const tensor = attrs['value'];
  if (tensor?.type === 'tensor') return { ...tensor.value, name: output };
  const numeric = (dtype: 'float32' | 'int64', values: number[], shape: number[]): Weight => ({
    name: output,
    dtype,
    shape,
    data: { kind: 'inline', bytes: encodeValues(dtype, shape, values) },
  });
  const single = attrs['value_float'] ?? attrs['value_int'];
  if (single?.type === 'float' || single?.type === 'int') {
    return numeric(single === attrs['value_float'] ? 'float32' : 'int64', [single.value], []);
  }
  const list = attrs['value_floats'] ?? attrs['value_ints'];
  if (list?.type === 'floats' || list?.type === 'ints') {
    return numeric(list === attrs['value_floats'] ? 'float32' : 'int64', list.value, [list.value.length]);
  }
  const sparse = Object.keys(attrs).find((k) => k.startsWith('sparse') || k.startsWith('value_string'));
  fail(
    `Constant node '${node.name}' uses attribute '${sparse ?? Object.keys(attrs)[0] ?? 'none'}', which is not supported`,
    'unsupported-operator',
  );
}

/**
 * Output values of a node when it can be folded away: it can evaluate, every input it reads is a known constant
 * (or, for Shape/Size, has a static shape), every output is small and encodable, and no output is a graph output.
 */
export function foldValues(def: OpDef, ctx: OpContext, outputs: OutputType[]): number[][] | undefined {
  if (def.evaluate === undefined) return undefined;
  if (!SHAPE_ONLY_FOLDS.has(ctx.node.opType) && ctx.present().some((t) => t.value === undefined)) return undefined;
  if (outputs.some((o) => elementCount(o.shape) > FOLD_LIMIT || !canEncode(o.dtype))) return undefined;
  return def.evaluate(ctx, outputs);
}

/** The inline weight holding a folded output. */
export function foldedWeight(name: string, output: OutputType, values: number[]): Weight {
  return {
    name,
    dtype: output.dtype,
    shape: [...output.shape],
    data: { kind: 'inline', bytes: encodeValues(output.dtype, output.shape, values) },
  };
}
