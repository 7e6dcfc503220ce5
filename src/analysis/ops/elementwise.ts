import { fail } from '../../errors.ts';
import { dtypeFromOnnx, isFloatType, type DType } from '../../ir/dtype.ts';
import type { OpContext, OpDef, OpTable, OutputType } from './types.ts';
import { broadcastIndexer, broadcastShapes, describe, elements, normalizeAxis, sameAsInput } from './util.ts';

/** Rounds a folded value to what an element of `dtype` can hold. */
export function castValue(value: number, dtype: DType): number {
  if (dtype === 'bool') return value !== 0 ? 1 : 0;
  if (dtype === 'float32') return Math.fround(value);
  if (isFloatType(dtype)) return value;
  return Number.isFinite(value) ? Math.trunc(value) : 0;
}

type Unary = (x: number, ctx: OpContext) => number;
type Binary = (a: number, b: number, ctx: OpContext) => number;

/**
 * A unary element-wise operator: output shape and dtype of the input, `cost` FLOPs per element (docs/costs.md),
 * and optionally a scalar function for constant folding.
 */
function unary(cost: number, fn?: Unary): OpDef {
  const def: OpDef = {
    infer: sameAsInput,
    flops: (_ctx, outputs) => cost * elements(outputs),
    memory: 'elementwise',
  };
  if (fn !== undefined) {
    def.evaluate = (ctx, outputs) => [ctx.input(0).value!.map((x) => castValue(fn(x, ctx), outputs[0]!.dtype))];
  }
  return def;
}

/**
 * The operand shapes broadcasting works on. Before opset 7, a binary operator with broadcast=1 aligns B with A
 * at `axis` (a suffix by default), so B gets trailing 1s; from opset 7 on, numpy rules apply unchanged.
 */
function operandShapes(ctx: OpContext): number[][] {
  const shapes = ctx.present().map((t) => t.shape);
  if (ctx.opset >= 7 || shapes.length !== 2 || ctx.attrs.int('broadcast', 0) !== 1) return shapes;
  const [a, b] = shapes as [number[], number[]];
  const axis = ctx.attrs.has('axis') ? normalizeAxis(ctx.node, ctx.attrs.int('axis', 0), a.length) : a.length - b.length;
  return [a, [...b, ...new Array<number>(Math.max(0, a.length - axis - b.length)).fill(1)]];
}

function broadcastEvaluate(ctx: OpContext, outputs: OutputType[], fn: (values: number[]) => number): number[][] {
  const out = outputs[0]!;
  const inputs = ctx.present();
  const shapes = operandShapes(ctx);
  const indexers = shapes.map((shape) => broadcastIndexer(shape, out.shape));
  const total = elements(outputs);
  const result = new Array<number>(total);
  for (let i = 0; i < total; i++) result[i] = castValue(fn(inputs.map((t, k) => t.value![indexers[k]!(i)]!)), out.dtype);
  return [result];
}

/** A broadcasting operator over all its inputs; `resultType` fixes the output dtype (comparisons give bool). */
function broadcasting(options: {
  flopsPerElement: (inputs: number) => number;
  fn?: (values: number[], ctx: OpContext) => number;
  resultType?: DType;
  minInputs?: number;
}): OpDef {
  const def: OpDef = {
    infer: (ctx) => {
      const inputs = ctx.present();
      if (inputs.length < (options.minInputs ?? 1))
        fail(`${describe(ctx.node)} needs at least ${options.minInputs ?? 1} input(s)`, 'invalid-model');
      const dtype = options.resultType ?? inputs[0]!.dtype;
      return [{ dtype, shape: broadcastShapes(ctx.node, operandShapes(ctx)) }];
    },
    flops: (ctx, outputs) => options.flopsPerElement(ctx.present().length) * elements(outputs),
    memory: 'elementwise',
  };
  const fn = options.fn;
  if (fn !== undefined) def.evaluate = (ctx, outputs) => broadcastEvaluate(ctx, outputs, (values) => fn(values, ctx));
  return def;
}

function binary(fn?: Binary, resultType?: DType): OpDef {
  const options: Parameters<typeof broadcasting>[0] = { flopsPerElement: () => 1, minInputs: 2 };
  if (fn !== undefined) options.fn = (values, ctx) => fn(values[0]!, values[1]!, ctx);
  if (resultType !== undefined) options.resultType = resultType;
  return broadcasting(options);
}

const isIntegral = (ctx: OpContext) => !isFloatType(ctx.input(0).dtype);

const divide: Binary = (a, b, ctx) => (isIntegral(ctx) ? Math.trunc(a / b) : a / b);
const modulo: Binary = (a, b, ctx) => {
  if (ctx.attrs.int('fmod', 0) === 1) return a % b;
  const r = a % b;
  return r !== 0 && Math.sign(r) !== Math.sign(b) ? r + b : r;
};

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const erf = (x: number): number => {
  // Abramowitz–Stegun 7.1.26; folding only needs it for completeness of Erf over constants.
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return x >= 0 ? y : -y;
};

const prelu = binary((x, slope) => (x < 0 ? slope * x : x));

export const elementwiseOps: OpTable = {
  // Unary arithmetic and transcendental functions: 1 FLOP per element.
  Relu: unary(1, (x) => Math.max(0, x)),
  Abs: unary(1, Math.abs),
  Neg: unary(1, (x) => -x),
  Floor: unary(1, Math.floor),
  Ceil: unary(1, Math.ceil),
  Round: unary(1, (x) => {
    const r = Math.round(x);
    return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r; // round half to even
  }),
  Sign: unary(1, Math.sign),
  Reciprocal: unary(1, (x) => 1 / x),
  Sqrt: unary(1, Math.sqrt),
  Exp: unary(1, Math.exp),
  Log: unary(1, Math.log),
  Erf: unary(1, erf),
  Sin: unary(1, Math.sin),
  Cos: unary(1, Math.cos),
  Tan: unary(1, Math.tan),
  Asin: unary(1, Math.asin),
  Acos: unary(1, Math.acos),
  Atan: unary(1, Math.atan),
  Sinh: unary(1, Math.sinh),
  Cosh: unary(1, Math.cosh),
  Asinh: unary(1, Math.asinh),
  Acosh: unary(1, Math.acosh),
  Atanh: unary(1, Math.atanh),
  Tanh: unary(1, Math.tanh),
  Not: unary(1, (x) => (x === 0 ? 1 : 0)),
  BitwiseNot: unary(1),
  // Composite activations: the count of their elementary operations (docs/costs.md).
  Sigmoid: unary(4, sigmoid),
  HardSigmoid: unary(4, (x, ctx) => Math.max(0, Math.min(1, ctx.attrs.float('alpha', 0.2) * x + ctx.attrs.float('beta', 0.5)))),
  HardSwish: unary(5, (x) => x * Math.max(0, Math.min(1, x / 6 + 0.5))),
  LeakyRelu: unary(2, (x, ctx) => (x < 0 ? ctx.attrs.float('alpha', 0.01) * x : x)),
  ThresholdedRelu: unary(1, (x, ctx) => (x > ctx.attrs.float('alpha', 1) ? x : 0)),
  Elu: unary(4, (x, ctx) => (x < 0 ? ctx.attrs.float('alpha', 1) * (Math.exp(x) - 1) : x)),
  Selu: unary(5),
  Celu: unary(7),
  Softplus: unary(3, (x) => Math.log(Math.exp(x) + 1)),
  Softsign: unary(3, (x) => x / (1 + Math.abs(x))),
  Mish: unary(5),
  Shrink: unary(2),
  Clip: {
    ...unary(2),
    evaluate: (ctx, outputs) => {
      // Opset < 11 takes min/max attributes; later opsets take optional inputs.
      const low = ctx.optional(1)?.value?.[0] ?? ctx.attrs.float('min', -Infinity);
      const high = ctx.optional(2)?.value?.[0] ?? ctx.attrs.float('max', Infinity);
      return [ctx.input(0).value!.map((x) => castValue(Math.min(high, Math.max(low, x)), outputs[0]!.dtype))];
    },
  },
  Gelu: {
    ...unary(5),
    flops: (ctx, outputs) => (ctx.attrs.string('approximate', 'none') === 'tanh' ? 9 : 5) * elements(outputs),
  },
  IsNaN: { ...unary(1, (x) => (Number.isNaN(x) ? 1 : 0)), infer: (ctx) => [{ dtype: 'bool', shape: [...ctx.input(0).shape] }] },
  IsInf: { ...unary(1), infer: (ctx) => [{ dtype: 'bool', shape: [...ctx.input(0).shape] }] },

  // Binary arithmetic with numpy broadcasting: 1 FLOP per output element.
  Add: binary((a, b) => a + b),
  Sub: binary((a, b) => a - b),
  Mul: binary((a, b) => a * b),
  Div: binary(divide),
  Pow: binary((a, b) => a ** b),
  Mod: binary(modulo),
  BitShift: binary(),
  BitwiseAnd: binary(),
  BitwiseOr: binary(),
  BitwiseXor: binary(),
  PRelu: {
    ...prelu,
    // Before opset 7 the slope is per channel (axis 1) or shared, whatever its rank: the output is X's shape.
    infer: (ctx) => (ctx.opset < 7 ? sameAsInput(ctx) : prelu.infer(ctx)),
    flops: (_ctx, outputs) => 2 * elements(outputs),
  },
  Equal: binary((a, b) => (a === b ? 1 : 0), 'bool'),
  Less: binary((a, b) => (a < b ? 1 : 0), 'bool'),
  Greater: binary((a, b) => (a > b ? 1 : 0), 'bool'),
  LessOrEqual: binary((a, b) => (a <= b ? 1 : 0), 'bool'),
  GreaterOrEqual: binary((a, b) => (a >= b ? 1 : 0), 'bool'),
  And: binary((a, b) => (a !== 0 && b !== 0 ? 1 : 0), 'bool'),
  Or: binary((a, b) => (a !== 0 || b !== 0 ? 1 : 0), 'bool'),
  Xor: binary((a, b) => ((a !== 0) !== (b !== 0) ? 1 : 0), 'bool'),

  // Variadic: n inputs cost n-1 FLOPs per output element (Mean adds the division).
  Sum: broadcasting({ flopsPerElement: (n) => n - 1, fn: (v) => v.reduce((a, b) => a + b, 0) }),
  Max: broadcasting({ flopsPerElement: (n) => n - 1, fn: (v) => Math.max(...v) }),
  Min: broadcasting({ flopsPerElement: (n) => n - 1, fn: (v) => Math.min(...v) }),
  Mean: broadcasting({ flopsPerElement: (n) => n, fn: (v) => v.reduce((a, b) => a + b, 0) / v.length }),

  // Selection: 1 FLOP per output element; the output dtype is that of the two branches.
  Where: {
    infer: (ctx) => [
      { dtype: ctx.input(1).dtype, shape: broadcastShapes(ctx.node, [ctx.input(0).shape, ctx.input(1).shape, ctx.input(2).shape]) },
    ],
    flops: (_ctx, outputs) => elements(outputs),
    memory: 'elementwise',
    evaluate: (ctx, outputs) => broadcastEvaluate(ctx, outputs, ([c, a, b]) => (c !== 0 ? a! : b!)),
  },

  // Conversions move data: 0 FLOPs.
  Cast: {
    infer: (ctx) => {
      const to = dtypeFromOnnx(ctx.attrs.int('to', 0));
      if (to === undefined) fail(`${describe(ctx.node)} has no valid 'to' type`, 'invalid-model');
      return [{ dtype: to, shape: [...ctx.input(0).shape] }];
    },
    evaluate: (ctx, outputs) => [ctx.input(0).value!.map((x) => castValue(x, outputs[0]!.dtype))],
  },
  CastLike: {
    infer: (ctx) => [{ dtype: ctx.input(1).dtype, shape: [...ctx.input(0).shape] }],
    evaluate: (ctx, outputs) => [ctx.input(0).value!.map((x) => castValue(x, outputs[0]!.dtype))],
  },
};
