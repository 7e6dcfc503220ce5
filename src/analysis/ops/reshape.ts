import { fail } from '../../errors.ts';
import { runTimeElements } from '../partial.ts';
import type { OpContext, OpDef, OpTable, OutputType, PartialValue } from './types.ts';
import { describe, normalizeAxis, product, list } from './util.ts';

/** Reshape's target: 0 copies the input dimension (unless allowzero), one -1 takes what is left. */
export function reshapeTarget(ctx: OpContext, input: number[], requested: number[]): number[] {
  const allowZero = ctx.attrs.int('allowzero', 0) === 1;
  const shape = requested.map((d, i) =>
    d === 0 && !allowZero ? (input[i] ?? fail(`${describe(ctx.node)}: 0 at axis ${i} has no input dimension to copy`, 'invalid-model')) : d,
  );
  const free = shape.filter((d) => d === -1).length;
  if (free > 1) fail(`${describe(ctx.node)}: target shape ${list(requested)} has more than one -1`, 'invalid-model');
  const total = product(input);
  if (free === 1) {
    const known = product(shape.filter((d) => d !== -1));
    if (known === 0 || total % known !== 0)
      fail(`${describe(ctx.node)}: cannot reshape ${list(input)} to ${list(requested)}`, 'invalid-model');
    return shape.map((d) => (d === -1 ? total / known : d));
  }
  if (product(shape) !== total)
    fail(`${describe(ctx.node)}: cannot reshape ${list(input)} (${total} elements) to ${list(requested)}`, 'invalid-model');
  return shape;
}

/**
 * A target with one element computed at run time (and no -1): whatever that element is, the output keeps the
 * input's element count, so the dimension there is the count divided by the other dimensions.
 */
function completeTarget(ctx: OpContext, requested: PartialValue): number[] {
  const unknown = requested.filter((d) => d === undefined).length;
  if (unknown === 0) return requested as number[];
  const input = ctx.input(0).shape;
  const allowZero = ctx.attrs.int('allowzero', 0) === 1;
  const others = product(requested.map((d, i) => (d === undefined ? 1 : d === 0 && !allowZero ? (input[i] ?? 0) : d)));
  const total = product(input);
  if (unknown > 1 || requested.includes(-1) || others <= 0 || total === 0) runTimeElements(ctx, 1, requested);
  if (total % others !== 0)
    fail(`${describe(ctx.node)}: cannot reshape ${list(input)} to a target with known dimensions ${list(requested)}`, 'invalid-model');
  return requested.map((d) => d ?? total / others);
}

/** An aliasing view of input 0: same values, new shape, 0 FLOPs. */
function view(shape: (ctx: OpContext) => number[], valueInputs?: number[]): OpDef {
  const def: OpDef = {
    infer: (ctx) => [{ dtype: ctx.input(0).dtype, shape: shape(ctx) }],
    memory: 'alias',
    evaluate: (ctx) => [[...ctx.input(0).value!]],
  };
  if (valueInputs !== undefined) def.valueInputs = valueInputs;
  return def;
}

/** Axes of Squeeze/Unsqueeze: an attribute before opset 13, input 1 from then on. */
function axesArgument(ctx: OpContext): number[] | undefined {
  if (ctx.opset >= 13) return ctx.optional(1) === undefined ? undefined : ctx.values(1);
  return ctx.attrs.ints('axes');
}

function squeezeShape(ctx: OpContext): number[] {
  const shape = ctx.input(0).shape;
  const axes = axesArgument(ctx);
  if (axes === undefined) return shape.filter((d) => d !== 1);
  const drop = new Set(axes.map((a) => normalizeAxis(ctx.node, a, shape.length)));
  for (const axis of drop)
    if (shape[axis] !== 1) fail(`${describe(ctx.node)}: cannot squeeze axis ${axis} of size ${shape[axis]}`, 'invalid-model');
  return shape.filter((_, i) => !drop.has(i));
}

function unsqueezeShape(ctx: OpContext): number[] {
  const shape = ctx.input(0).shape;
  const axes = axesArgument(ctx);
  if (axes === undefined) fail(`${describe(ctx.node)} has no axes`, 'invalid-model');
  const rank = shape.length + axes.length;
  const inserted = new Set(axes.map((a) => normalizeAxis(ctx.node, a, rank)));
  if (inserted.size !== axes.length) fail(`${describe(ctx.node)}: repeated axes ${list(axes)}`, 'invalid-model');
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i < rank; i++) out.push(inserted.has(i) ? 1 : shape[next++]!);
  return out;
}

function flattenShape(ctx: OpContext): number[] {
  const shape = ctx.input(0).shape;
  const axis = ctx.attrs.int('axis', 1);
  const split = axis === shape.length ? axis : normalizeAxis(ctx.node, axis, shape.length);
  return [product(shape.slice(0, split)), product(shape.slice(split))];
}

function sameShape(ctx: OpContext): number[] {
  return [...ctx.input(0).shape];
}

export const reshapeOps: OpTable = {
  Reshape: view(
    (ctx) => {
      // Opset < 5 carries the target in the 'shape' attribute.
      const requested = ctx.opset < 5 ? (ctx.attrs.ints('shape') ?? []) : completeTarget(ctx, ctx.partialValues(1));
      return reshapeTarget(ctx, ctx.input(0).shape, requested);
    },
    [1],
  ),
  Flatten: view(flattenShape),
  Squeeze: view(squeezeShape, [1]),
  Unsqueeze: view(unsqueezeShape, [1]),
  Identity: view(sameShape),
  /** Inference Dropout passes its input through; the optional mask output is bool of the same shape. */
  Dropout: {
    infer: (ctx): OutputType[] => {
      const x = ctx.input(0);
      return ctx.node.outputs.map((_, i) => ({ dtype: i === 0 ? x.dtype : 'bool', shape: [...x.shape] }));
    },
    memory: 'alias',
  },
};
