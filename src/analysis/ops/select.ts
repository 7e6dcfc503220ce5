import { fail } from '../../errors.ts';
import type { OpContext, OpTable, OutputType } from './types.ts';
import { describe, normalizeAxis, product, strides } from './util.ts';

// Output shapes that depend on input values (NonZero, Compress, Unique) are known only when those are constants.

function nonZeroIndices(ctx: OpContext): number[][] {
  const x = ctx.input(0);
  const values = ctx.values(0);
  const s = strides(x.shape);
  const coords: number[][] = x.shape.map(() => []);
  values.forEach((v, flat) => {
    if (v === 0) return;
    x.shape.forEach((d, axis) => coords[axis]!.push(Math.floor(flat / s[axis]!) % d));
  });
  return coords;
}

/** The slices of `values` along `axis` (or the elements, without an axis), as comparable keys. */
function slicesAlong(ctx: OpContext): string[] {
  const x = ctx.input(0);
  const values = ctx.values(0);
  if (!ctx.attrs.has('axis')) return values.map(String);
  const axis = normalizeAxis(ctx.node, ctx.attrs.int('axis', 0), x.shape.length);
  const s = strides(x.shape);
  const slices: number[][] = Array.from({ length: x.shape[axis]! }, () => []);
  values.forEach((v, flat) => slices[Math.floor(flat / s[axis]!) % x.shape[axis]!]!.push(v));
  return slices.map((slice) => slice.join(','));
}

export const selectOps: OpTable = {
  NonZero: {
    infer: (ctx) => [{ dtype: 'int64', shape: [ctx.input(0).shape.length, nonZeroIndices(ctx)[0]?.length ?? 0] }],
    evaluate: (ctx) => [nonZeroIndices(ctx).flat()],
    valueInputs: [0],
  },
  Compress: {
    infer: (ctx) => {
      const x = ctx.input(0);
      const selected = ctx.values(1).filter((c) => c !== 0).length;
      if (!ctx.attrs.has('axis')) return [{ dtype: x.dtype, shape: [Math.min(selected, product(x.shape))] }];
      const axis = normalizeAxis(ctx.node, ctx.attrs.int('axis', 0), x.shape.length);
      return [{ dtype: x.dtype, shape: x.shape.map((d, i) => (i === axis ? Math.min(selected, d) : d)) }];
    },
    valueInputs: [1],
  },
  /** Y holds the k distinct elements (or slices along axis); indices and counts have k entries, inverse_indices one per input element (slice). */
  Unique: {
    infer: (ctx) => {
      const x = ctx.input(0);
      const keys = slicesAlong(ctx);
      const k = new Set(keys).size;
      const y = ctx.attrs.has('axis')
        ? x.shape.map((d, i) => (i === normalizeAxis(ctx.node, ctx.attrs.int('axis', 0), x.shape.length) ? k : d))
        : [k];
      if (ctx.node.outputs.length > 4) fail(`${describe(ctx.node)} has more than 4 outputs`, 'invalid-model');
      const outputs: OutputType[] = [
        { dtype: x.dtype, shape: y },
        { dtype: 'int64', shape: [k] },
        { dtype: 'int64', shape: [keys.length] },
        { dtype: 'int64', shape: [k] },
      ];
      return outputs.slice(0, Math.max(1, ctx.node.outputs.length));
    },
    valueInputs: [0],
  },
};
