import type { OpContext, OpDef, OpTable, OutputType } from './types.ts';
import { normalizeAxis, product, strides } from './util.ts';
import { castValue } from './elementwise.ts';

/** Opset from which each Reduce operator takes its axes as input 1 instead of an attribute. */
function axesFromInput(ctx: OpContext): boolean {
  return ctx.node.opType === 'ReduceSum' ? ctx.opset >= 13 : ctx.opset >= 18;
}

/** The reduced axes (sorted, non-negative); empty with noop_with_empty_axes means "no reduction". */
function reducedAxes(ctx: OpContext): number[] {
  const rank = ctx.input(0).shape.length;
  let axes: number[] | undefined;
  if (axesFromInput(ctx)) {
    axes = ctx.optional(1) === undefined ? undefined : ctx.values(1);
  } else {
    axes = ctx.attrs.ints('axes');
  }
  if (axes === undefined || axes.length === 0) {
    return ctx.attrs.int('noop_with_empty_axes', 0) === 1 ? [] : Array.from({ length: rank }, (_, i) => i);
  }
  return [...new Set(axes.map((a) => normalizeAxis(ctx.node, a, rank)))].sort((a, b) => a - b);
}

function reducedShape(shape: number[], axes: number[], keepDims: boolean): number[] {
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (!axes.includes(i)) out.push(d);
    else if (keepDims) out.push(1);
  });
  return out;
}

type Combine = (values: number[]) => number;

/** Reduces `values` of `shape` over `axes`, row-major output. */
function reduceValues(values: number[], shape: number[], axes: number[], combine: Combine): number[] {
  const outShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const groups: number[][] = Array.from({ length: product(outShape) }, () => []);
  const inStrides = strides(shape);
  const outStrides = strides(outShape);
  values.forEach((v, flat) => {
    let target = 0;
    shape.forEach((_, axis) => {
      if (!axes.includes(axis)) target += (Math.floor(flat / inStrides[axis]!) % shape[axis]!) * outStrides[axis]!;
    });
    groups[target]!.push(v);
  });
  return groups.map(combine);
}

/** A Reduce operator: `perElement` FLOPs per input element (docs/costs.md). */
function reduce(perElement: number, combine?: Combine): OpDef {
  const def: OpDef = {
    infer: (ctx) => {
      const x = ctx.input(0);
      return [{ dtype: x.dtype, shape: reducedShape(x.shape, reducedAxes(ctx), ctx.attrs.int('keepdims', 1) === 1) }];
    },
    flops: (ctx) => perElement * product(ctx.input(0).shape),
    valueInputs: [1],
  };
  if (combine !== undefined) {
    def.evaluate = (ctx, outputs: OutputType[]) => {
      const x = ctx.input(0);
      const axes = reducedAxes(ctx);
      const values = axes.length === 0 ? [...x.value!] : reduceValues(x.value!, x.shape, axes, combine);
      return [values.map((v) => castValue(v, outputs[0]!.dtype))];
    };
  }
  return def;
}

function argReduce(): OpDef {
  return {
    infer: (ctx) => {
      const x = ctx.input(0);
      const axis = normalizeAxis(ctx.node, ctx.attrs.int('axis', 0), x.shape.length);
      return [{ dtype: 'int64', shape: reducedShape(x.shape, [axis], ctx.attrs.int('keepdims', 1) === 1) }];
    },
    flops: (ctx) => product(ctx.input(0).shape),
  };
}

const sum: Combine = (v) => v.reduce((a, b) => a + b, 0);

export const reduceOps: OpTable = {
  ReduceSum: reduce(1, sum),
  ReduceMean: reduce(1, (v) => sum(v) / v.length),
  ReduceMax: reduce(1, (v) => Math.max(...v)),
  ReduceMin: reduce(1, (v) => Math.min(...v)),
  ReduceProd: reduce(1, (v) => v.reduce((a, b) => a * b, 1)),
  ReduceL1: reduce(2),
  ReduceL2: reduce(2),
  ReduceSumSquare: reduce(2),
  ReduceLogSum: reduce(1),
  ReduceLogSumExp: reduce(2),
  ArgMax: argReduce(),
  ArgMin: argReduce(),
};
