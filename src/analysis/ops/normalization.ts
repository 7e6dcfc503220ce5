import type { OpContext, OpDef, OpTable, OutputType } from './types.ts';
import { elements, normalizeAxis, sameAsInput } from './util.ts';

/**
 * Normalizations over groups: 5 FLOPs per element for statistics and normalization (sum for the mean, subtract,
 * square, sum for the variance, multiply by 1/σ) plus 1 per affine term present (scale, bias).
 */
function normalization(affineInputs: number[], extraOutputs?: (ctx: OpContext) => OutputType[]): OpDef {
  return {
    infer: (ctx) => [...sameAsInput(ctx), ...(extraOutputs?.(ctx) ?? [])],
    flops: (ctx, outputs) => (5 + affineInputs.filter((i) => ctx.optional(i) !== undefined).length) * elements(outputs),
  };
}

/** LayerNormalization's optional Mean and InvStdDev outputs: the input shape with the normalized axes set to 1. */
function layerNormStatistics(ctx: OpContext): OutputType[] {
  const x = ctx.input(0);
  const axis = normalizeAxis(ctx.node, ctx.attrs.int('axis', -1), x.shape.length);
  const shape = x.shape.map((d, i) => (i < axis ? d : 1));
  return ctx.node.outputs.slice(1).map(() => ({ dtype: 'float32', shape: [...shape] }));
}

export const normalizationOps: OpTable = {
  /** Inference BatchNormalization folds to one multiply-add per element: 2 FLOPs. */
  BatchNormalization: {
    infer: (ctx) => {
      const x = ctx.input(0);
      // Training-mode outputs (running/saved mean and variance) are per channel.
      const channel = ctx.input(1).shape;
      return [
        { dtype: x.dtype, shape: [...x.shape] },
        ...ctx.node.outputs.slice(1).map(() => ({ dtype: ctx.input(3).dtype, shape: [...channel] })),
      ];
    },
    flops: (_ctx, outputs) => 2 * elements(outputs),
  },
  LayerNormalization: normalization([1, 2], layerNormStatistics),
  InstanceNormalization: normalization([1, 2]),
  GroupNormalization: normalization([1, 2]),
  MeanVarianceNormalization: normalization([]),
  /** |x|^p summed, then a division: 3 FLOPs per element. */
  LpNormalization: { infer: withAxis, flops: (_ctx, outputs) => 3 * elements(outputs) },
  /** Sum of squares over `size` channels plus scale, power and divide: size + 3 FLOPs per element. */
  LRN: { infer: sameAsInput, flops: (ctx, outputs) => (ctx.attrs.intAtLeast('size', 1, 1) + 3) * elements(outputs) },
};

/** Softmax: subtract max, exp, sum, divide, plus the max comparison: 5 FLOPs per element. */
const softmax: OpDef = { infer: withAxis, flops: (_ctx, outputs) => 5 * elements(outputs) };

/** Output like input 0, once a given `axis` is checked to be in range. */
function withAxis(ctx: OpContext): OutputType[] {
  if (ctx.attrs.has('axis')) normalizeAxis(ctx.node, ctx.attrs.int('axis', -1), ctx.input(0).shape.length);
  return sameAsInput(ctx);
}

export const softmaxOps: OpTable = {
  Softmax: softmax,
  LogSoftmax: softmax,
  /** One comparison per element. */
  Hardmax: { infer: withAxis, flops: (_ctx, outputs) => elements(outputs) },
};
