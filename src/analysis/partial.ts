import { fail } from '../errors.ts';
import { elementCount, isFloatType, type DType } from '../ir/dtype.ts';
import { FOLD_LIMIT } from './fold.ts';
import type { OpContext, OpDef, OutputType, PartialValue, TensorMeta } from './ops/types.ts';
import { broadcastIndexer, broadcastShapes, describe } from './ops/util.ts';

/**
 * Partial values (ONNX's "data propagation"): a small integer tensor of which some elements are known, such as a
 * shape vector concatenated from static dimensions and a number computed at run time. Only the operators shape
 * sub-graphs use carry them, and only as far as each output element depends on known input elements.
 */

/** Pure data movement: each output element copies one element of these data inputs (all inputs when 'all'). */
const MOVEMENT: Record<string, number[] | 'all'> = {
  Concat: 'all',
  Gather: [0],
  Slice: [0],
  Split: [0],
  Squeeze: [0],
  Unsqueeze: [0],
  Reshape: [0],
  Flatten: [0],
  Identity: [0],
  Expand: [0],
  Tile: [0],
  Transpose: [0],
};

/** Element-wise: an output element is known when the input elements it reads are (Where: the condition and the branch it picks). */
const ELEMENTWISE = new Set([
  'Add',
  'Sub',
  'Mul',
  'Div',
  'Mod',
  'Neg',
  'Abs',
  'Max',
  'Min',
  'Sum',
  'Equal',
  'Less',
  'Greater',
  'LessOrEqual',
  'GreaterOrEqual',
  'Not',
  'And',
  'Or',
  'Xor',
  'Cast',
  'Where',
]);

/** Tensors partial values are tracked for: integer or bool, at most FOLD_LIMIT elements. */
function tracked(type: { dtype: DType; shape: number[] }): boolean {
  return !isFloatType(type.dtype) && elementCount(type.shape) <= FOLD_LIMIT;
}

/** What is known of a tensor's elements, or undefined when it is not a tracked tensor. */
function elementsOf(meta: TensorMeta): PartialValue | undefined {
  if (meta.value !== undefined) return meta.value;
  if (meta.partial !== undefined) return meta.partial;
  return tracked(meta) ? new Array<number | undefined>(elementCount(meta.shape)).fill(undefined) : undefined;
}

/** `ctx` with the inputs at the given positions replaced. */
function substitute(ctx: OpContext, metas: (TensorMeta | undefined)[]): OpContext {
  const sub: OpContext = {
    ...ctx,
    input: (index) => metas[index] ?? ctx.input(index),
    optional: (index) => metas[index],
    present: () => metas.filter((m): m is TensorMeta => m !== undefined),
    values: (index) => sub.input(index).value ?? ctx.values(index),
    partialValues: (index) => sub.input(index).value ?? ctx.partialValues(index),
  };
  return sub;
}

/** Runs a data-movement operator on element tags to learn which input element each output element copies. */
function moveElements(def: OpDef, ctx: OpContext, outputs: OutputType[], data: number[] | 'all'): PartialValue[] | undefined {
  const metas = ctx.node.inputs.map((_, i) => ctx.optional(i));
  const sources: (number | undefined)[] = [];
  const replaced = metas.map((meta, i) => {
    if (meta === undefined) return undefined;
    if (data !== 'all' && !data.includes(i)) return meta;
    const elements = elementsOf(meta);
    if (elements === undefined) return undefined;
    const tags = elements.map((_, j) => sources.length + j);
    sources.push(...elements);
    return { ...meta, value: tags };
  });
  if (replaced.some((m, i) => m === undefined && metas[i] !== undefined)) return undefined;
  // Indices, axes and shapes must be fully known; evaluate reads them through values().
  const other = replaced.filter((m, i) => m !== undefined && data !== 'all' && !data.includes(i));
  if (other.some((m) => m!.value === undefined)) return undefined;
  const tagged = def.evaluate!(substitute(ctx, replaced), outputs);
  return tagged.map((tags) => tags.map((tag) => sources[tag]));
}

/** Evaluates an element-wise operator element by element, on the elements that are known. */
function mapElements(def: OpDef, ctx: OpContext, outputs: OutputType[]): PartialValue[] | undefined {
  const inputs = ctx.present();
  const elements = inputs.map(elementsOf);
  if (elements.some((e) => e === undefined)) return undefined;
  const out = outputs[0]!;
  const shape = broadcastShapes(
    ctx.node,
    inputs.map((t) => t.shape),
  );
  const indexers = inputs.map((t) => broadcastIndexer(t.shape, shape));
  const where = ctx.node.opType === 'Where';
  const result: PartialValue = [];
  for (let i = 0; i < elementCount(out.shape); i++) {
    const operands = elements.map((e, k) => e![indexers[k]!(i)]);
    if (where && operands[0] !== undefined) {
      result.push(operands[operands[0] !== 0 ? 1 : 2]);
    } else if (operands.every((v) => v !== undefined)) {
      const scalars = inputs.map((t, k) => ({ name: t.name, dtype: t.dtype, shape: [], value: [operands[k]!] }));
      result.push(def.evaluate!(substitute(ctx, scalars), [{ dtype: out.dtype, shape: [] }])[0]![0]);
    } else {
      result.push(undefined);
    }
  }
  return [result];
}

/**
 * Output elements of a node when its inputs are partly known: undefined when the node is not a shape
 * sub-graph operator, an input is neither tracked nor known, or nothing of the outputs becomes known.
 */
export function propagatePartial(def: OpDef, ctx: OpContext, outputs: OutputType[]): PartialValue[] | undefined {
  const op = ctx.node.opType;
  if (def.evaluate === undefined || ctx.opset < 7 || !outputs.every(tracked)) return undefined;
  const inputs = ctx.present();
  if (!inputs.some((t) => t.partial !== undefined || (t.value !== undefined && tracked(t)))) return undefined;
  const movement = MOVEMENT[op];
  const result =
    movement !== undefined ? moveElements(def, ctx, outputs, movement) : ELEMENTWISE.has(op) ? mapElements(def, ctx, outputs) : undefined;
  if (result === undefined || result.every((r) => r.every((v) => v === undefined))) return undefined;
  return result;
}

/** Fails with 'dynamic-shape' naming the elements of input `index` that are computed at run time. */
export function runTimeElements(ctx: OpContext, index: number, values: PartialValue): never {
  const unknown = values.flatMap((v, i) => (v === undefined ? [i] : []));
  fail(
    `cannot infer the output shape of ${describe(ctx.node)}: element${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} of input ${index} '${ctx.input(index).name}' ${unknown.length > 1 ? 'are' : 'is'} computed at run time`,
    'dynamic-shape',
  );
}
