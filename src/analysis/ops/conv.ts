import { fail } from '../../errors.ts';
import type { OpContext, OpTable, OutputType, TensorMeta } from './types.ts';
import { describe, list, product, requireRank } from './util.ts';
import { slidingWindow, windowAttributes } from './window.ts';

/**
 * The weight's agreement with input 0 (channels C) and group: Conv's weight is [M, C/group, k...], ConvTranspose's
 * [C, M/group, k...]; group must divide the weight's first axis, and a given kernel_shape must be the weight's.
 */
function checkWeight(ctx: OpContext, x: TensorMeta, w: TensorMeta, group: number, transpose: boolean): void {
  const channels = x.shape[1]!;
  const expected = transpose ? w.shape[0]! : w.shape[1]! * group;
  if (channels !== expected) {
    fail(
      transpose
        ? `${describe(ctx.node)}: input '${x.name}' has ${channels} channels, but weight '${w.name}' ${list(w.shape)} takes ${w.shape[0]}`
        : `${describe(ctx.node)}: input '${x.name}' has ${channels} channels, but weight '${w.name}' ${list(w.shape)} with group ${group} takes ${expected}`,
      'invalid-model',
    );
  }
  if (w.shape[0]! % group !== 0)
    fail(
      `${describe(ctx.node)}: group ${group} does not divide the ${w.shape[0]} ${transpose ? 'input' : 'output'} channels of weight '${w.name}'`,
      'invalid-model',
    );
  const kernel = ctx.attrs.ints('kernel_shape');
  const own = w.shape.slice(2);
  if (kernel !== undefined && (kernel.length !== own.length || kernel.some((k, i) => k !== own[i])))
    fail(`${describe(ctx.node)}: attribute 'kernel_shape' ${list(kernel)} is not the weight's kernel ${list(own)}`, 'invalid-model');
}

function convShape(ctx: OpContext, weightIndex = 1, biasIndex = 2): OutputType[] {
  const x = requireRank(ctx, 0, 3);
  const w = requireRank(ctx, weightIndex, x.shape.length, x.shape.length);
  const group = ctx.attrs.intAtLeast('group', 1, 1);
  checkWeight(ctx, x, w, group, false);
  const bias = biasIndex < 0 ? undefined : ctx.optional(biasIndex);
  if (bias !== undefined && (bias.shape.length !== 1 || bias.shape[0] !== w.shape[0]))
    fail(`${describe(ctx.node)}: bias '${bias.name}' has shape ${list(bias.shape)}, expected [${w.shape[0]}]`, 'invalid-model');
  const window = slidingWindow(ctx, x.shape.slice(2), w.shape.slice(2));
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
  const group = ctx.attrs.intAtLeast('group', 1, 1);
  checkWeight(ctx, x, w, group, true);
  const kernel = w.shape.slice(2);
  if (kernel.some((k) => !(k >= 1)))
    fail(`${describe(ctx.node)}: kernel ${list(kernel)} must be at least 1 on every axis`, 'invalid-model');
  const { strides, dilations, pads } = windowAttributes(ctx, n);
  const outputPadding = ctx.attrs.intList('output_padding', n, 0, 0);
  const channels = w.shape[1]! * group;
  const explicit = ctx.attrs.ints('output_shape');
  if (explicit !== undefined) {
    const out = explicit.slice(-n);
    if (out.length !== n || out.some((d) => !(d >= 1)))
      fail(`${describe(ctx.node)}: attribute 'output_shape' ${list(explicit)} must end in ${n} sizes of at least 1`, 'invalid-model');
    return [{ dtype: x.dtype, shape: [x.shape[0]!, channels, ...out] }];
  }
  const autoPad = ctx.attrs.string('auto_pad', 'NOTSET');
  const out = spatial.map((size, i) => {
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return size * strides[i]!;
    const full = strides[i]! * (size - 1) + outputPadding[i]! + (kernel[i]! - 1) * dilations[i]! + 1;
    return autoPad === 'VALID' ? full : full - pads[i]! - pads[i + n]!;
  });
  return [{ dtype: x.dtype, shape: [x.shape[0]!, channels, ...out] }];
}

export const convOps: OpTable = {
  Conv: { infer: (ctx) => convShape(ctx), flops: (ctx, outputs) => convFlops(ctx, outputs) },
  ConvInteger: {
    infer: (ctx) => [{ ...convShape(ctx, 1, -1)[0]!, dtype: 'int32' }],
    flops: (ctx, outputs) => convFlops(ctx, outputs, 1, -1),
  },
  // QLinearConv(x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B?)
  QLinearConv: {
    infer: (ctx) => [{ ...convShape(ctx, 3, 8)[0]!, dtype: ctx.input(7).dtype }],
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
