import { fail } from '../../errors.ts';
import type { DType } from '../../ir/dtype.ts';
import type { OpContext, OpTable, OutputType } from './types.ts';
import { broadcastShapes, describe, product, requireRank, list } from './util.ts';

interface MatMulGeometry {
  shape: number[];
  /** Batch elements × M × N × K. */
  macs: number;
}

/** numpy matmul: 1-D operands are promoted and the promoted axis dropped; batch dims broadcast. */
function matmulGeometry(ctx: OpContext, aIndex: number, bIndex: number): MatMulGeometry {
  const a = ctx.input(aIndex).shape;
  const b = ctx.input(bIndex).shape;
  if (a.length === 0 || b.length === 0) fail(`${describe(ctx.node)}: MatMul operands must have rank ≥ 1`, 'invalid-model');
  const a2 = a.length === 1 ? [1, a[0]!] : a;
  const b2 = b.length === 1 ? [b[0]!, 1] : b;
  const m = a2[a2.length - 2]!;
  const k = a2[a2.length - 1]!;
  const kb = b2[b2.length - 2]!;
  const n = b2[b2.length - 1]!;
  if (k !== kb) fail(`${describe(ctx.node)}: inner dimensions differ (${list(a)} × ${list(b)})`, 'invalid-model');
  const batch = broadcastShapes(ctx.node, [a2.slice(0, -2), b2.slice(0, -2)]);
  const shape = [...batch, ...(a.length === 1 ? [] : [m]), ...(b.length === 1 ? [] : [n])];
  return { shape, macs: product(batch) * m * n * k };
}

function matmul(aIndex: number, bIndex: number, dtype?: (ctx: OpContext) => DType) {
  return {
    infer: (ctx: OpContext): OutputType[] => [
      { dtype: dtype?.(ctx) ?? ctx.input(aIndex).dtype, shape: matmulGeometry(ctx, aIndex, bIndex).shape },
    ],
    flops: (ctx: OpContext) => 2 * matmulGeometry(ctx, aIndex, bIndex).macs,
  };
}

function gemmDims(ctx: OpContext): { m: number; n: number; k: number } {
  const a = ctx.input(0).shape;
  const b = ctx.input(1).shape;
  if (a.length !== 2 || b.length !== 2)
    fail(`${describe(ctx.node)}: Gemm operands must be 2-D, got ${list(a)} and ${list(b)}`, 'invalid-model');
  const [m, k] = ctx.attrs.int('transA', 0) === 1 ? [a[1]!, a[0]!] : [a[0]!, a[1]!];
  const [kb, n] = ctx.attrs.int('transB', 0) === 1 ? [b[1]!, b[0]!] : [b[0]!, b[1]!];
  if (k !== kb) fail(`${describe(ctx.node)}: inner dimensions differ (K=${k} vs ${kb})`, 'invalid-model');
  return { m, n, k };
}

/** Placeholder index names for the dimensions an ellipsis stands for (digits never clash with letters). */
const ELLIPSIS = '0123456789';

/**
 * Einsum's indices with their extents, checked across operands (size-1 dims broadcast). An ellipsis becomes
 * placeholder indices, right-aligned across operands as numpy broadcasts them.
 */
function einsumExtents(ctx: OpContext): { inputs: string[]; output: string; extents: Map<string, number> } {
  const equation = ctx.attrs.string('equation', '').replace(/\s+/g, '');
  const [lhs, rhs] = equation.split('->') as [string, string | undefined];
  const operands = ctx.present();
  const rawInputs = lhs.split(',');
  if (rawInputs.length !== operands.length)
    fail(`${describe(ctx.node)}: equation '${equation}' names ${rawInputs.length} operands, node has ${operands.length}`, 'invalid-model');
  const ellipsisRanks = rawInputs.map((term, i) => (term.includes('...') ? operands[i]!.shape.length - (term.length - 3) : 0));
  const ellipsisRank = Math.max(0, ...ellipsisRanks);
  const inputs = rawInputs.map((term, i) => term.replace('...', ELLIPSIS.slice(ellipsisRank - ellipsisRanks[i]!, ellipsisRank)));
  const extents = new Map<string, number>();
  const counts = new Map<string, number>();
  inputs.forEach((term, i) => {
    const shape = operands[i]!.shape;
    if (term.length !== shape.length)
      fail(`${describe(ctx.node)}: term '${rawInputs[i]}' does not match rank ${shape.length} of '${operands[i]!.name}'`, 'invalid-model');
    [...term].forEach((index, axis) => {
      const d = shape[axis]!;
      const known = extents.get(index);
      if (known !== undefined && known !== d && known !== 1 && d !== 1)
        fail(`${describe(ctx.node)}: index '${index}' has sizes ${known} and ${d}`, 'invalid-model');
      extents.set(index, known === undefined || known === 1 ? d : known);
      counts.set(index, (counts.get(index) ?? 0) + 1);
    });
  });
  const broadcast = ELLIPSIS.slice(0, ellipsisRank);
  // Implicit output: the ellipsis dims, then the letters seen once, in alphabetical order.
  const output =
    rhs === undefined
      ? broadcast +
        [...counts.keys()]
          .filter((l) => counts.get(l) === 1 && !ELLIPSIS.includes(l))
          .sort()
          .join('')
      : rhs.replace('...', broadcast);
  return { inputs, output, extents };
}

export const matmulOps: OpTable = {
  /** Determinants of the trailing n×n matrices by LU decomposition: ⌈2n³/3⌉ FLOPs each. */
  Det: {
    infer: (ctx) => {
      const x = requireRank(ctx, 0, 2);
      if (x.shape.at(-1) !== x.shape.at(-2))
        fail(`${describe(ctx.node)}: matrices ${list(x.shape.slice(-2))} are not square`, 'invalid-model');
      return [{ dtype: x.dtype, shape: x.shape.slice(0, -2) }];
    },
    flops: (ctx) => {
      const shape = ctx.input(0).shape;
      const n = shape.at(-1)!;
      return product(shape.slice(0, -2)) * Math.ceil((2 * n ** 3) / 3);
    },
  },
  MatMul: matmul(0, 1),
  MatMulInteger: matmul(0, 1, () => 'int32'),
  // QLinearMatMul(a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp)
  QLinearMatMul: matmul(0, 3, (ctx) => ctx.input(7).dtype),
  Gemm: {
    infer: (ctx) => {
      const { m, n } = gemmDims(ctx);
      return [{ dtype: ctx.input(0).dtype, shape: [m, n] }];
    },
    /** 2·M·N·K, plus M·N for adding C. */
    flops: (ctx) => {
      const { m, n, k } = gemmDims(ctx);
      return 2 * m * n * k + (ctx.optional(2) !== undefined ? m * n : 0);
    },
  },
  Einsum: {
    infer: (ctx) => {
      const { output, extents } = einsumExtents(ctx);
      return [{ dtype: ctx.input(0).dtype, shape: [...output].map((l) => extents.get(l)!) }];
    },
    /** One multiply per extra operand and one add at every point of the full index space. */
    flops: (ctx) => {
      const { inputs, extents } = einsumExtents(ctx);
      return inputs.length * product([...extents.values()]);
    },
  },
};
