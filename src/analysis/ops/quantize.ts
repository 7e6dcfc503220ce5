import { dtypeFromOnnx } from '../../ir/dtype.ts';
import type { OpTable } from './types.ts';
import { elements } from './util.ts';

export const quantizeOps: OpTable = {
  /** y = saturate(round(x / scale) + zero_point): 3 FLOPs per element; the type is the zero point's (uint8 by default). */
  QuantizeLinear: {
    infer: (ctx) => {
      const code = ctx.attrs.int('output_dtype', 0);
      const dtype = ctx.optional(2)?.dtype ?? (code !== 0 ? dtypeFromOnnx(code) : undefined) ?? 'uint8';
      return [{ dtype, shape: [...ctx.input(0).shape] }];
    },
    flops: (_ctx, outputs) => 3 * elements(outputs),
  },
  /** y = (x − zero_point) · scale: 2 FLOPs per element, in the scale's type. */
  DequantizeLinear: {
    infer: (ctx) => [{ dtype: ctx.input(1).dtype, shape: [...ctx.input(0).shape] }],
    flops: (_ctx, outputs) => 2 * elements(outputs),
  },
  /** A min/max pass (2 per element) then quantization (3 per element); scale and zero point are scalars. */
  DynamicQuantizeLinear: {
    infer: (ctx) => [
      { dtype: 'uint8', shape: [...ctx.input(0).shape] },
      { dtype: 'float32', shape: [] },
      { dtype: 'uint8', shape: [] },
    ],
    flops: (_ctx, outputs) => 5 * elements(outputs),
  },
};
