import { fail } from '../../errors.ts';
import { dtypeFromOnnx, type DType } from '../../ir/dtype.ts';
import { weightValues } from '../values.ts';
import type { OpContext, OpTable } from './types.ts';
import { describe, elements } from './util.ts';

/** Shape's optional start/end (opset 15) select a slice of the dimension list, numpy-style with clamping. */
function shapeSlice(ctx: OpContext): number[] {
  const shape = ctx.input(0).shape;
  const rank = shape.length;
  const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + rank : v, 0), rank);
  const start = clamp(ctx.attrs.int('start', 0));
  const end = clamp(ctx.attrs.int('end', rank));
  return shape.slice(start, Math.max(start, end));
}

function constantOfShapeFill(ctx: OpContext): { dtype: DType; value: number } {
  const tensor = ctx.attrs.tensor('value');
  if (tensor === undefined) return { dtype: 'float32', value: 0 };
  const values = weightValues(tensor, 1);
  if (values === undefined || values.length !== 1) fail(`${describe(ctx.node)}: 'value' must be a one-element tensor`, 'invalid-model');
  return { dtype: tensor.dtype, value: values[0]! };
}

function rangeCount(ctx: OpContext): number {
  const [start, limit, delta] = [ctx.values(0)[0]!, ctx.values(1)[0]!, ctx.values(2)[0]!];
  if (delta === 0) fail(`${describe(ctx.node)}: delta is 0`, 'invalid-model');
  return Math.max(0, Math.ceil((limit - start) / delta));
}

/** The output type attribute (`dtype` or `output_datatype`) of a generator, defaulting to `fallback`. */
function generatedType(ctx: OpContext, attribute: string, fallback: DType): DType {
  const code = ctx.attrs.int(attribute, -1);
  if (code === -1) return fallback;
  return dtypeFromOnnx(code) ?? fail(`${describe(ctx.node)}: unknown ${attribute} ${code}`, 'invalid-model');
}

/** Random tensors shaped like input 0 (0 FLOPs: generation is not arithmetic on data). */
function randomLike(): OpTable[string] {
  return { infer: (ctx) => [{ dtype: generatedType(ctx, 'dtype', ctx.input(0).dtype), shape: [...ctx.input(0).shape] }] };
}

/** Random tensors of the `shape` attribute. */
function randomOfShape(): OpTable[string] {
  return { infer: (ctx) => [{ dtype: generatedType(ctx, 'dtype', 'float32'), shape: ctx.attrs.ints('shape') ?? [] }] };
}

/** Window functions: a cosine series per element, 3 FLOPs each. */
function windowFunction(): OpTable[string] {
  return {
    infer: (ctx) => [{ dtype: generatedType(ctx, 'output_datatype', 'float32'), shape: [ctx.values(0)[0]!] }],
    flops: (_ctx, outputs) => 3 * elements(outputs),
    valueInputs: [0],
  };
}

export const generateOps: OpTable = {
  /** Shape and Size need only the input's static shape: they always fold. */
  Shape: {
    infer: (ctx) => [{ dtype: 'int64', shape: [shapeSlice(ctx).length] }],
    evaluate: (ctx) => [shapeSlice(ctx)],
  },
  Size: {
    infer: () => [{ dtype: 'int64', shape: [] }],
    evaluate: (ctx) => [[ctx.input(0).shape.reduce((a, b) => a * b, 1)]],
  },
  ConstantOfShape: {
    infer: (ctx) => [{ dtype: constantOfShapeFill(ctx).dtype, shape: ctx.values(0) }],
    evaluate: (ctx, outputs) => [new Array<number>(elements(outputs)).fill(constantOfShapeFill(ctx).value)],
    valueInputs: [0],
  },
  Range: {
    infer: (ctx) => [{ dtype: ctx.input(0).dtype, shape: [rangeCount(ctx)] }],
    evaluate: (ctx) => {
      const start = ctx.values(0)[0]!;
      const delta = ctx.values(2)[0]!;
      return [Array.from({ length: rangeCount(ctx) }, (_, i) => start + i * delta)];
    },
    valueInputs: [0, 1, 2],
  },
  EyeLike: randomLike(),
  RandomUniformLike: randomLike(),
  RandomNormalLike: randomLike(),
  Bernoulli: randomLike(),
  RandomUniform: randomOfShape(),
  RandomNormal: randomOfShape(),
  HannWindow: windowFunction(),
  HammingWindow: windowFunction(),
  BlackmanWindow: windowFunction(),
};

/** Ops whose folding needs only their inputs' static shapes, not their values. */
export const SHAPE_ONLY_FOLDS = new Set(['Shape', 'Size']);
