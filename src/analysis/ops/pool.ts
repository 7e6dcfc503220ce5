import { fail } from '../../errors.ts';
import type { OpContext, OpDef, OpTable, OutputType } from './types.ts';
import { describe, elements, product, requireRank } from './util.ts';
import { slidingWindow, windowAttributes } from './window.ts';

function poolShape(ctx: OpContext): OutputType[] {
  const x = requireRank(ctx, 0, 3);
  const kernel = ctx.attrs.ints('kernel_shape');
  if (kernel === undefined) fail(`${describe(ctx.node)} has no kernel_shape`, 'invalid-model');
  const window = slidingWindow(ctx, x.shape.slice(2), kernel, { ceilMode: ctx.attrs.int('ceil_mode', 0) === 1 });
  const shape = [...x.shape.slice(0, 2), ...window.output];
  const outputs: OutputType[] = [{ dtype: x.dtype, shape }];
  // MaxPool's optional second output holds the argmax indices.
  if (ctx.node.outputs.length > 1 && ctx.node.outputs[1] !== '') outputs.push({ dtype: 'int64', shape: [...shape] });
  return outputs;
}

/** Sliding-window pooling: `perTap` FLOPs for every kernel element of every output element. */
function pool(perTap: number): OpDef {
  return {
    infer: poolShape,
    flops: (ctx, outputs) => perTap * elements(outputs) * product(ctx.attrs.ints('kernel_shape')!),
  };
}

/** Global pooling: `perTap` FLOPs per input element. */
function globalPool(perTap: number): OpDef {
  return {
    infer: (ctx) => {
      const x = requireRank(ctx, 0, 3);
      return [{ dtype: x.dtype, shape: [...x.shape.slice(0, 2), ...x.shape.slice(2).map(() => 1)] }];
    },
    flops: (ctx) => perTap * product(ctx.input(0).shape),
  };
}

/** MaxUnpool scatters back to output_shape (input 2) or to (in−1)·stride + kernel − pads: data movement. */
function maxUnpoolShape(ctx: OpContext): OutputType[] {
  const x = requireRank(ctx, 0, 3);
  if (ctx.optional(2) !== undefined) return [{ dtype: x.dtype, shape: ctx.values(2) }];
  const spatial = x.shape.slice(2);
  const n = spatial.length;
  if (!ctx.attrs.has('kernel_shape')) fail(`${describe(ctx.node)} has no kernel_shape`, 'invalid-model');
  const kernel = ctx.attrs.intList('kernel_shape', n, 1, 1);
  const { strides, pads } = windowAttributes(ctx, n);
  return [
    {
      dtype: x.dtype,
      shape: [...x.shape.slice(0, 2), ...spatial.map((d, i) => (d - 1) * strides[i]! + kernel[i]! - pads[i]! - pads[i + n]!)],
    },
  ];
}

export const poolOps: OpTable = {
  MaxUnpool: { infer: maxUnpoolShape, valueInputs: [2] },
  MaxPool: pool(1),
  AveragePool: pool(1),
  LpPool: pool(2),
  GlobalMaxPool: globalPool(1),
  GlobalAveragePool: globalPool(1),
  GlobalLpPool: globalPool(2),
};
