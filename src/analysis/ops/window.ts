import { fail } from '../../errors.ts';
import type { OpContext } from './types.ts';
import { describe, list } from './util.ts';

/** Spatial geometry of a sliding-window operator (Conv, pooling) after resolving auto_pad. */
export interface Window {
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** Begin pads then end pads, as ONNX orders them. */
  pads: number[];
  /** Spatial output sizes. */
  output: number[];
}

/** strides and dilations (n integers ≥ 1, default 1) and pads (2n integers ≥ 0, default 0), checked. */
export function windowAttributes(ctx: OpContext, n: number): { strides: number[]; dilations: number[]; pads: number[] } {
  return {
    strides: ctx.attrs.intList('strides', n, 1, 1),
    dilations: ctx.attrs.intList('dilations', n, 1, 1),
    pads: [...ctx.attrs.intList('pads', 2 * n, 0, 0)],
  };
}

/**
 * Output sizes of a sliding window over `spatial` input sizes (ONNX Conv/Pool rules):
 * explicit pads: floor-or-ceil((in + padBegin + padEnd − ((k−1)·d + 1)) / s) + 1, where with ceil_mode a window
 * starting inside the end padding is dropped; SAME_UPPER/SAME_LOWER: ceil(in / s); VALID: pads of zero.
 */
export function slidingWindow(ctx: OpContext, spatial: number[], kernel: number[], options: { ceilMode?: boolean } = {}): Window {
  const n = spatial.length;
  if (kernel.length !== n) fail(`${describe(ctx.node)}: kernel has ${kernel.length} spatial dims, input has ${n}`, 'invalid-model');
  if (kernel.some((k) => !(k >= 1)))
    fail(`${describe(ctx.node)}: kernel ${list(kernel)} must be at least 1 on every axis`, 'invalid-model');
  const { strides, dilations, pads } = windowAttributes(ctx, n);
  const autoPad = ctx.attrs.string('auto_pad', 'NOTSET');
  const output: number[] = [];
  for (let i = 0; i < n; i++) {
    const effectiveKernel = (kernel[i]! - 1) * dilations[i]! + 1;
    const stride = strides[i]!;
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      const out = Math.ceil(spatial[i]! / stride);
      const total = Math.max(0, (out - 1) * stride + effectiveKernel - spatial[i]!);
      const small = Math.floor(total / 2);
      pads[i] = autoPad === 'SAME_UPPER' ? small : total - small;
      pads[i + n] = total - pads[i]!;
      output.push(out);
      continue;
    }
    if (autoPad === 'VALID') {
      pads[i] = 0;
      pads[i + n] = 0;
    } else if (autoPad !== 'NOTSET') {
      fail(`${describe(ctx.node)}: unknown auto_pad '${autoPad}'`, 'invalid-model');
    }
    const span = spatial[i]! + pads[i]! + pads[i + n]! - effectiveKernel;
    if (span < 0)
      fail(
        `${describe(ctx.node)}: kernel ${effectiveKernel} is larger than the padded input ${spatial[i]! + pads[i]! + pads[i + n]!} on spatial axis ${i}`,
        'invalid-model',
      );
    let out = (options.ceilMode ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
    if (options.ceilMode && (out - 1) * stride >= spatial[i]! + pads[i]!) out -= 1;
    output.push(out);
  }
  return { kernel, strides, dilations, pads, output };
}
