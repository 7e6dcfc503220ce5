import type { OpTable } from './types.ts';
import { elements, requireRank } from './util.ts';

/** Interpolation cost per output element and sampled axis: nearest 0, linear 3, cubic 8 (as Resize). */
export function interpolationFlops(mode: string): number {
  if (mode === 'linear' || mode === 'bilinear') return 3;
  if (mode === 'cubic' || mode === 'bicubic') return 8;
  return 0;
}

export const samplingOps: OpTable = {
  /** X [N, C, D1..Dr] sampled at grid [N, O1..Or, r] → [N, C, O1..Or]. */
  GridSample: {
    infer: (ctx) => {
      const x = requireRank(ctx, 0, 3);
      const grid = requireRank(ctx, 1, x.shape.length, x.shape.length).shape;
      return [{ dtype: x.dtype, shape: [x.shape[0]!, x.shape[1]!, ...grid.slice(1, -1)] }];
    },
    flops: (ctx, outputs) => {
      const axes = ctx.input(1).shape.at(-1)!;
      return interpolationFlops(ctx.attrs.string('mode', ctx.opset >= 20 ? 'linear' : 'bilinear')) * axes * elements(outputs);
    },
  },
  /**
   * [R, C, output_height, output_width]. Each output element averages s² bilinear samples (s = sampling_ratio,
   * 2 when adaptive): 7 FLOPs per sample (6 for the interpolation, 1 to accumulate).
   */
  RoiAlign: {
    infer: (ctx) => {
      const x = requireRank(ctx, 0, 4, 4);
      const rois = requireRank(ctx, 1, 2, 2).shape;
      return [{ dtype: x.dtype, shape: [rois[0]!, x.shape[1]!, ctx.attrs.int('output_height', 1), ctx.attrs.int('output_width', 1)] }];
    },
    flops: (ctx, outputs) => {
      const s = ctx.attrs.int('sampling_ratio', 0) || 2;
      return 7 * s * s * elements(outputs);
    },
  },
};
