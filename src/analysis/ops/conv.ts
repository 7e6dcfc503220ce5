import type { OpContext, OpTable, OutputType } from './types.ts';
import { product, requireRank } from './util.ts';
import { slidingWindow } from './window.ts';

function convShape(ctx: OpContext, weightIndex = 1): OutputType[] {
  const x = requireRank(ctx, 0, 3);
  const w = requireRank(ctx, weightIndex, x.shape.length, x.shape.length);
  const kernel = ctx.attrs.ints('kernel_shape') ?? w.shape.slice(2);
  const window = slidingWindow(ctx, x.shape.slice(2), kernel);
  return [{ dtype: x.dtype, shape: [x.shape[0]!, w.shape[0]!, ...window.output] }];
}

/** 2·N·Cout·∏out·(Cin/group)·∏kernel, plus one add per output element when a bias is given. */
function convFlops(ctx: OpContext, outputs: OutputType[], weightIndex = 1, biasIndex = 2): number {
  const w = ctx.input(weightIndex);
  const perOutput = product(w.shape.slice(1)); // (Cin/group)·∏kernel
  const outElements = product(outputs[0]!.shape);
  return 2 * outElements * perOutput + (ctx.optional(biasIndex) !== undefined ? outElements : 0);
}

function convTransposeShape(ctx: OpContext): OutputType[] {
  const x = requireRank(ctx, 0, 3);
  const w = requireRank(ctx, 1, x.shape.length, x.shape.length);
  const spatial = x.shape.slice(2);
  const n = spatial.length;
  const group = ctx.attrs.int('group', 1);
  const kernel = ctx.attrs.ints('kernel_shape') ?? w.shape.slice(2);
  const strides = ctx.attrs.ints('strides') ?? new Array<number>(n).fill(1);
  const dilations = ctx.attrs.ints('dilations') ?? new Array<number>(n).fill(1);
  const outputPadding = ctx.attrs.ints('output_padding') ?? new Array<number>(n).fill(0);
  const channels = w.shape[1]! * group;
  const explicit = ctx.attrs.ints('output_shape');
  if (explicit !== undefined) return [{ dtype: x.dtype, shape: [x.shape[0]!, channels, ...explicit.slice(-n)] }];
  const autoPad = ctx.attrs.string('auto_pad', 'NOTSET');
  const pads = ctx.attrs.ints('pads') ?? new Array<number>(2 * n).fill(0);
  const out = spatial.map((size, i) => {
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return size * strides[i]!;
    const full = strides[i]! * (size - 1) + outputPadding[i]! + (kernel[i]! - 1) * dilations[i]! + 1;
    return autoPad === 'VALID' ? full : full - pads[i]! - pads[i + n]!;
  });
  return [{ dtype: x.dtype, shape: [x.shape[0]!, channels, ...out] }];
}

export const convOps: OpTable = {
  Conv: { infer: (ctx) => convShape(ctx), flops: (ctx, outputs) => convFlops(ctx, outputs) },
  ConvInteger: { infer: (ctx) => [{ ...convShape(ctx)[0]!, dtype: 'int32' }], flops: (ctx, outputs) => convFlops(ctx, outputs, 1, -1) },
  // QLinearConv(x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B?)
  QLinearConv: {
    infer: (ctx) => [{ ...convShape(ctx, 3)[0]!, dtype: ctx.input(7).dtype }],
    flops: (ctx, outputs) => convFlops(ctx, outputs, 3, 8),
  },
  ConvTranspose: {
    infer: convTransposeShape,
    /** Each input element is multiplied into a (Cout/group)·∏kernel patch: 2·N·Cin·∏in·(Cout/group)·∏kernel. */
    flops: (ctx, outputs) => {
      const x = ctx.input(0);
      const w = ctx.input(1);
      const macs = product(x.shape) * product(w.shape.slice(1));
      return 2 * macs + (ctx.optional(2) !== undefined ? product(outputs[0]!.shape) : 0);
    },
  },
};
