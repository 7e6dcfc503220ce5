import { Attrs } from '../analysis/ops/attrs.ts';
import type { AnalyzedOp, Model } from '../ir/graph.ts';
import { weightBytes } from '../ir/weights.ts';
import type { SplitDim } from './types.ts';
import { fullBox, hull, isEmpty, sameBox } from './box.ts';
import type { Box, GridAxes, SliceOverrides, SplitOption } from './types.ts';

/**
 * How one operator's output regions relate to its input regions. Every rule is exact: running the operator on
 * exactly the input regions `inputs(out)` returns (with the overrides applied) exactly the output regions `out`,
 * provided `out` is what `widen` returns (docs/partition.md).
 */
export interface OpGeometry {
  outputShapes: number[][];
  /** null for an omitted optional input. */
  inputShapes: Array<number[] | null>;
  options: SplitOption[];
  /** The smallest computable regions containing `out` (identity except for shape ops and unsplittable ops). */
  widen(out: Box[]): Box[];
  /** The input regions `out` needs. */
  inputs(out: Box[]): { inputs: Array<Box | null>; overrides?: SliceOverrides };
}

/** Axis names by layout (docs/partition.md): CNNs name NCHW axes, sequence models [B,T,C] and attention axes. */
export type Layout = { kind: 'cnn' } | { kind: 'sequence'; tokens: number | undefined };

export function modelLayout(model: Model): Layout {
  if (model.ops.some((op) => op.node.opType === 'Conv' && op.node.domain === '')) return { kind: 'cnn' };
  const ids = model.graph.inputs.find((input) => input.shape?.length === 2);
  const tokens = ids?.shape?.[1];
  return { kind: 'sequence', tokens: typeof tokens === 'number' ? tokens : undefined };
}

function axisNames(layout: Layout, shape: readonly number[]): Array<{ dim: SplitDim; axis: number }> {
  const rank = shape.length;
  if (rank === 2)
    return [
      { dim: 'tokens', axis: 0 },
      { dim: 'channels', axis: 1 },
    ];
  if (rank === 3)
    return [
      { dim: 'tokens', axis: 1 },
      { dim: 'channels', axis: 2 },
    ];
  if (rank < 4) return [];
  if (layout.kind === 'cnn')
    return rank === 4
      ? [
          { dim: 'channels', axis: 1 },
          { dim: 'rows', axis: 2 },
        ]
      : [];
  // Attention tensors ([B,heads,T,x], [B,T,heads,d], [B,kv,group,T,x]): the axis of extent T (preferring the
  // second to last) is tokens, heads sit at 1 (2 when axis 1 is T), the last remaining axis is channels.
  const tokens = [rank - 2, 1, rank - 1].find((a) => shape[a] === layout.tokens) ?? rank - 2;
  const heads = tokens === 1 ? 2 : 1;
  const channels = tokens === rank - 1 ? rank - 2 : rank - 1;
  return [
    { dim: 'heads', axis: heads },
    { dim: 'tokens', axis: tokens },
    { dim: 'channels', axis: channels },
  ];
}

function optionsFor(
  layout: Layout,
  shape: readonly number[],
  keep: (axis: number, dim: SplitDim) => boolean,
  granule: (axis: number) => number = () => 1,
): SplitOption[] {
  return axisNames(layout, shape)
    .filter(({ axis, dim }) => shape[axis]! >= 2 * granule(axis) && keep(axis, dim))
    .map(({ dim, axis }) => ({ dim, axis, extent: shape[axis]!, granule: granule(axis) }));
}

/** The values of a small int64 weight (axes, starts…), or undefined when the input is absent or not a weight. */
function constInts(model: Model, name: string | undefined): number[] | undefined {
  const weight = name === undefined || name === '' ? undefined : model.graph.initializers.get(name);
  if (weight === undefined || (weight.dtype !== 'int64' && weight.dtype !== 'int32')) return undefined;
  const bytes = weightBytes(weight);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = weight.dtype === 'int64' ? bytes.byteLength / 8 : bytes.byteLength / 4;
  return Array.from({ length: n }, (_, i) =>
    weight.dtype === 'int64' ? Number(view.getBigInt64(i * 8, true)) : view.getInt32(i * 4, true),
  );
}

/**
 * Operators that compute whole `axes` from whole input axes and pass the other axes through unchanged (same
 * rank): a region always spans those axes whole, in the output as in input 0.
 */
function axesWholeGeometry(layout: Layout, base: Base, axes: ReadonlySet<number>): OpGeometry {
  const shape = base.inputShapes[0]!;
  const outShape = base.outputShapes[0]!;
  return {
    ...base,
    options: optionsFor(layout, outShape, (a) => !axes.has(a)),
    widen: (out) => [out[0]!.map((r, a) => (axes.has(a) ? [0, outShape[a]!] : r) as [number, number]), ...out.slice(1)],
    inputs: ([out]) => ({
      inputs: base.inputShapes.map((s, i) =>
        s === null ? null : i === 0 ? out!.map((r, a) => (axes.has(a) ? [0, shape[a]!] : [r[0], r[1]]) as [number, number]) : fullBox(s),
      ),
    }),
  };
}

/** Reductions that keep their axes (keepdims 1) with known axes: split along the axes not reduced. */
function reduceGeometry(model: Model, op: AnalyzedOp, layout: Layout, base: Base): OpGeometry {
  const attrs = new Attrs(op.node);
  const rank = base.inputShapes[0]!.length;
  const axes = attrs.ints('axes') ?? constInts(model, op.node.inputs[1]);
  if (attrs.int('keepdims', 1) !== 1 || axes === undefined || axes.length === 0 || base.outputShapes[0]!.length !== rank)
    return wholeGeometry(base);
  return axesWholeGeometry(layout, base, new Set(axes.map((a) => (a < 0 ? a + rank : a))));
}

/** Slice with constant parameters: split along the axes it does not slice (the sliced ones are read whole). */
function sliceGeometry(model: Model, op: AnalyzedOp, layout: Layout, base: Base): OpGeometry {
  const rank = base.inputShapes[0]!.length;
  const starts = constInts(model, op.node.inputs[1]);
  const axes = op.node.inputs[3] === undefined || op.node.inputs[3] === '' ? starts?.map((_, i) => i) : constInts(model, op.node.inputs[3]);
  if (starts === undefined || axes === undefined) return wholeGeometry(base);
  return axesWholeGeometry(layout, base, new Set(axes.map((a) => (a < 0 ? a + rank : a))));
}

type Rule = (model: Model, op: AnalyzedOp, layout: Layout, base: Base) => OpGeometry | null;

const broadcast: Rule = (_model, op, layout, base) => broadcastGeometry(op.node.opType, layout, base);
const window: Rule = (_model, op, layout, base) => (base.outputShapes[0]!.length >= 3 ? windowGeometry(op, layout, base) : null);
const reshape: Rule = (_model, op, layout, base) => reshapeGeometry(op.node.opType, layout, base);
const reduce: Rule = (model, op, layout, base) => reduceGeometry(model, op, layout, base);
const normalize: Rule = (_model, op, layout, base) => normalizeGeometry(op, layout, base);
const globalPool: Rule = (_model, _op, layout, base) => globalPoolGeometry(layout, base);

/** Operators whose output region is their inputs' region, broadcast (the element-wise family and BatchNormalization). */
export const BROADCAST_OPERATORS: readonly string[] = [
  'Relu',
  'Sigmoid',
  'Tanh',
  'HardSigmoid',
  'HardSwish',
  'LeakyRelu',
  'Elu',
  'Selu',
  'Gelu',
  'Erf',
  'Exp',
  'Log',
  'Sqrt',
  'Reciprocal',
  'Neg',
  'Abs',
  'Identity',
  'Dropout',
  'Cast',
  'Softplus',
  'Softsign',
  'Mish',
  'Floor',
  'Ceil',
  'Round',
  'Sign',
  'Not',
  'Clip',
  'Add',
  'Sub',
  'Mul',
  'Div',
  'Pow',
  'Max',
  'Min',
  'Where',
  'PRelu',
  'Equal',
  'Less',
  'Greater',
  'And',
  'Or',
  'Sum',
  'Mean',
  'BatchNormalization',
];

/** Operators with a sliding window over the spatial axes. */
export const WINDOW_OPERATORS: readonly string[] = ['Conv', 'MaxPool', 'AveragePool'];

/**
 * THE table of split rules, by operator type of the standard domain (single-output operators; Split has its own
 * rule). A rule may still answer null (run whole) for a node whose shapes it does not cover. Every operator the
 * analysis supports is either here or in WHOLE_OPERATORS (geometry.test.ts checks both lists against the registry).
 */
export const SPLIT_RULES: ReadonlyMap<string, Rule> = new Map<string, Rule>([
  ...BROADCAST_OPERATORS.map((type): [string, Rule] => [type, broadcast]),
  ...WINDOW_OPERATORS.map((type): [string, Rule] => [type, window]),
  ...['ReduceMean', 'ReduceSum', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceSumSquare', 'ReduceLogSumExp'].map(
    (type): [string, Rule] => [type, reduce],
  ),
  ...['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze'].map((type): [string, Rule] => [type, reshape]),
  ...['Softmax', 'LogSoftmax', 'LayerNormalization'].map((type): [string, Rule] => [type, normalize]),
  ...['GlobalAveragePool', 'GlobalMaxPool'].map((type): [string, Rule] => [type, globalPool]),
  [
    'MatMul',
    (_model, _op, layout, base) =>
      base.inputShapes[0]!.length >= 2 && (base.inputShapes[1]?.length ?? 0) >= 2 ? matmulGeometry(layout, base) : null,
  ],
  ['Gemm', (_model, op, layout, base) => gemmGeometry(op, layout, base)],
  ['Concat', (_model, op, layout, base) => concatGeometry(op, layout, base)],
  ['Transpose', (_model, op, layout, base) => transposeGeometry(op, layout, base)],
  ['Slice', (model, op, layout, base) => sliceGeometry(model, op, layout, base)],
]);

/**
 * Supported operators that always run whole on one device (no exact region rule is defined for them). Adding a
 * split rule for one moves it from here to SPLIT_RULES.
 */
export const WHOLE_OPERATORS: ReadonlySet<string> = new Set([
  'Acos',
  'Acosh',
  'ArgMax',
  'ArgMin',
  'Asin',
  'Asinh',
  'Atan',
  'Atanh',
  'Bernoulli',
  'BitShift',
  'BitwiseAnd',
  'BitwiseNot',
  'BitwiseOr',
  'BitwiseXor',
  'BlackmanWindow',
  'CastLike',
  'Celu',
  'Compress',
  'Constant',
  'ConstantOfShape',
  'ConvInteger',
  'ConvTranspose',
  'Cos',
  'Cosh',
  'CumSum',
  'DepthToSpace',
  'DequantizeLinear',
  'Det',
  'DynamicQuantizeLinear',
  'Einsum',
  'Expand',
  'EyeLike',
  'GRU',
  'Gather',
  'GatherElements',
  'GatherND',
  'GlobalLpPool',
  'GreaterOrEqual',
  'GridSample',
  'GroupNormalization',
  'HammingWindow',
  'HannWindow',
  'Hardmax',
  'InstanceNormalization',
  'IsInf',
  'IsNaN',
  'LRN',
  'LSTM',
  'LessOrEqual',
  'LpNormalization',
  'LpPool',
  'MatMulInteger',
  'MaxUnpool',
  'MeanVarianceNormalization',
  'Mod',
  'NegativeLogLikelihoodLoss',
  'NonZero',
  'OneHot',
  'Pad',
  'QLinearConv',
  'QLinearMatMul',
  'QuantizeLinear',
  'RNN',
  'RandomNormal',
  'RandomNormalLike',
  'RandomUniform',
  'RandomUniformLike',
  'Range',
  'ReduceLogSum',
  'Resize',
  'ReverseSequence',
  'RoiAlign',
  'Scatter',
  'ScatterElements',
  'ScatterND',
  'Shape',
  'Shrink',
  'Sin',
  'Sinh',
  'Size',
  'SoftmaxCrossEntropyLoss',
  'SpaceToDepth',
  'Tan',
  'ThresholdedRelu',
  'Tile',
  'TopK',
  'Trilu',
  'Unique',
  'Upsample',
  'Xor',
]);

export function opGeometry(model: Model, op: AnalyzedOp, layout: Layout): OpGeometry {
  const node = op.node;
  const shapeOf = (name: string): number[] | null => (name === '' ? null : (model.tensors.get(name)?.shape ?? null));
  const inputShapes = node.inputs.map(shapeOf);
  const outputShapes = node.outputs.map((name) => shapeOf(name) ?? []);
  const base = { inputShapes, outputShapes };
  if (node.domain !== '' || inputShapes[0] == null) return wholeGeometry(base);
  if (node.opType === 'Split' && outputShapes.every((shape) => shape.length === inputShapes[0]!.length))
    return splitGeometry(op, layout, base);
  const rule = node.outputs.length === 1 ? SPLIT_RULES.get(node.opType) : undefined;
  return rule?.(model, op, layout, base) ?? wholeGeometry(base);
}

type Base = { inputShapes: Array<number[] | null>; outputShapes: number[][] };

/** Operators computed whole: any requested region widens to the full outputs, which need the full inputs. */
function wholeGeometry(base: Base): OpGeometry {
  return {
    ...base,
    options: [],
    widen: () => base.outputShapes.map(fullBox),
    inputs: () => ({ inputs: base.inputShapes.map((s) => (s === null ? null : fullBox(s))) }),
  };
}

/**
 * Split along `axis`: every output gets the same range on the other axes (the hull of what is asked of any of
 * them) and its whole part of `axis`; the input region is that range with `axis` whole.
 */
function splitGeometry(op: AnalyzedOp, layout: Layout, base: Base): OpGeometry {
  const inShape = base.inputShapes[0]!;
  let axis = new Attrs(op.node).int('axis', 0);
  if (axis < 0) axis += inShape.length;
  const common = (out: Box[]): Box => {
    let region: Box | null = null;
    for (const box of out) region = hull(region, box);
    return (region ?? fullBox(inShape)).map((r, a) => (a === axis ? [0, inShape[a]!] : r) as [number, number]);
  };
  return {
    ...base,
    options: optionsFor(layout, base.outputShapes[0]!, (a) => a !== axis),
    widen: (out) => {
      const region = common(out);
      return base.outputShapes.map((shape) => region.map((r, a) => (a === axis ? [0, shape[a]!] : r) as [number, number]));
    },
    inputs: (out) => ({ inputs: [common(out), ...base.inputShapes.slice(1).map((s) => (s === null ? null : fullBox(s)))] }),
  };
}

// Boxes and their ranges are never mutated once made (slice rows are shared through memos), so the rules below
// share ranges between boxes, and return `out` itself where an input's region equals it: evaluating a plan builds
// thousands of boxes, and their allocation was a large part of its cost.
const UNIT: [number, number] = [0, 1];

/** Numpy broadcasting: the region of an input that a region of the output reads. */
function broadcastBox(inputShape: readonly number[], out: Box): Box {
  const offset = out.length - inputShape.length;
  let same = offset === 0;
  for (let i = 0; same && i < inputShape.length; i++) {
    const range = out[i]!;
    if (inputShape[i] === 1 && range[1] - range[0] >= 1 && (range[0] !== 0 || range[1] !== 1)) same = false;
  }
  if (same) return out;
  return inputShape.map((size, i) => {
    const range = out[i + offset]!;
    return size === 1 && range[1] - range[0] >= 1 ? UNIT : range;
  });
}

function broadcastGeometry(type: string, layout: Layout, base: Base): OpGeometry {
  const out0 = base.outputShapes[0]!;
  return {
    ...base,
    options: type === 'BatchNormalization' && layout.kind !== 'cnn' ? [] : optionsFor(layout, out0, () => true),
    widen: (out) => out,
    inputs: ([out]) => {
      // BatchNormalization's scale, bias, mean and variance are per channel (axis 1).
      const channel: Box | null = type === 'BatchNormalization' ? [out![1]!] : null;
      return {
        inputs: base.inputShapes.map((shape, i) =>
          shape === null ? null : channel !== null && i > 0 ? channel : broadcastBox(shape, out!),
        ),
      };
    },
  };
}

function globalPoolGeometry(layout: Layout, base: Base): OpGeometry {
  const inShape = base.inputShapes[0]!;
  return {
    ...base,
    options: layout.kind === 'cnn' ? optionsFor(layout, base.outputShapes[0]!, (_, dim) => dim === 'channels') : [],
    widen: (out) => out,
    inputs: ([out]) => ({
      inputs: [inShape.map((size, axis) => (axis < 2 ? out![axis]! : ([0, size] as [number, number])))],
    }),
  };
}

function normalizeGeometry(op: AnalyzedOp, layout: Layout, base: Base): OpGeometry {
  const rank = base.inputShapes[0]!.length;
  let axis = new Attrs(op.node).int('axis', -1);
  if (axis < 0) axis += rank;
  return axesWholeGeometry(layout, base, new Set(Array.from({ length: rank - axis }, (_, i) => axis + i)));
}

function windowGeometry(op: AnalyzedOp, layout: Layout, base: Base): OpGeometry {
  const node = op.node;
  const attrs = new Attrs(node);
  const isConv = node.opType === 'Conv';
  const inShape = base.inputShapes[0]!;
  const outShape = base.outputShapes[0]!;
  const spatial = inShape.length - 2;
  const kernel = isConv ? base.inputShapes[1]!.slice(2) : attrs.ints('kernel_shape')!;
  const strides = attrs.ints('strides') ?? new Array<number>(spatial).fill(1);
  const dilations = attrs.ints('dilations') ?? new Array<number>(spatial).fill(1);
  const pads = resolvePads(attrs, inShape.slice(2), outShape.slice(2), kernel, strides, dilations);
  const group = isConv ? attrs.int('group', 1) : 1;
  const inChannels = inShape[1]!;
  const outChannels = outShape[1]!;
  // A slice of a grouped convolution holds whole groups.
  const perGroupOut = outChannels / group;
  const allInChannels: [number, number] = [0, inChannels];
  const weightFull = isConv ? fullBox(base.inputShapes[1]!) : [];
  const scratchPads = new Array<number>(2 * spatial).fill(0);
  const noPads: SliceOverrides = { pads: scratchPads.slice() };
  const ownPads: SliceOverrides = { pads: pads.slice(0, 2 * spatial) };
  const alignGroups = (box: Box): Box =>
    box.map(
      (r, a) =>
        (a === 1 ? [Math.floor(r[0] / perGroupOut) * perGroupOut, Math.ceil(r[1] / perGroupOut) * perGroupOut] : r) as [number, number],
    );
  return {
    ...base,
    options:
      layout.kind === 'cnn'
        ? optionsFor(
            layout,
            outShape,
            () => true,
            (axis) => (axis === 1 && group !== 1 ? perGroupOut : 1),
          )
        : [],
    widen: (out) => (group === 1 ? out : [alignGroups(out[0]!), ...out.slice(1)]),
    inputs: ([out]) => {
      const box = out!;
      // Arrays are made at their final length: one grown by push holds spare room, and these live in memos.
      const input: Box = new Array(2 + spatial);
      input[0] = box[0]!;
      if (isConv && group === 1) input[1] = allInChannels;
      else if (isConv) {
        const perGroupIn = inChannels / group;
        input[1] = [(box[1]![0] / perGroupOut) * perGroupIn, (box[1]![1] / perGroupOut) * perGroupIn];
      } else input[1] = box[1]!;
      // Most slices have no border pads or all of the operator's: those share one pads array and overrides.
      let border = 0;
      let inner = 0;
      for (let i = 0; i < spatial; i++) {
        const range = box[i + 2]!;
        const size = inShape[i + 2]!;
        const start = range[0] * strides[i]! - pads[i]!;
        const end = (range[1] - 1) * strides[i]! - pads[i]! + (kernel[i]! - 1) * dilations[i]! + 1;
        input[i + 2] = start === range[0] && end === range[1] && end <= size ? range : [Math.max(0, start), Math.min(size, end)];
        // Past the input's end only the operator's own end pad exists; with ceil_mode the last window may overhang
        // it, and keeping ceil_mode with that pad reproduces the operator's own border behaviour.
        const begin = (scratchPads[i] = Math.max(0, -start));
        const finish = (scratchPads[i + spatial] = Math.min(Math.max(0, end - size), pads[i + spatial]!));
        if (begin !== 0 || finish !== 0) inner++;
        if (begin !== pads[i] || finish !== pads[i + spatial]) border++;
      }
      let inputs: Array<Box | null> = [input];
      if (isConv) {
        const weight: Box = weightFull.slice();
        weight[0] = box[1]!;
        inputs = base.inputShapes[2] != null ? [input, weight, [box[1]!]] : [input, weight];
      }
      if (group === 1 && inner === 0) return { inputs, overrides: noPads };
      if (group === 1 && border === 0) return { inputs, overrides: ownPads };
      const overrides: SliceOverrides = { pads: scratchPads.slice() };
      if (group !== 1) overrides.group = (box[1]![1] - box[1]![0]) / perGroupOut;
      return { inputs, overrides };
    },
  };
}

/** Explicit begin/end pads, resolving auto_pad the way ONNX does. */
function resolvePads(attrs: Attrs, input: number[], output: number[], kernel: number[], strides: number[], dilations: number[]): number[] {
  const n = input.length;
  const autoPad = attrs.string('auto_pad', 'NOTSET');
  if (autoPad === 'NOTSET') return attrs.ints('pads') ?? new Array<number>(2 * n).fill(0);
  const pads = new Array<number>(2 * n).fill(0);
  if (autoPad === 'VALID') return pads;
  for (let i = 0; i < n; i++) {
    const total = Math.max(0, (output[i]! - 1) * strides[i]! + (kernel[i]! - 1) * dilations[i]! + 1 - input[i]!);
    const small = Math.floor(total / 2);
    pads[i] = autoPad === 'SAME_UPPER' ? small : total - small;
    pads[i + n] = total - pads[i]!;
  }
  return pads;
}

function matmulGeometry(layout: Layout, base: Base): OpGeometry {
  const [a, b] = [base.inputShapes[0]!, base.inputShapes[1]!];
  const out0 = base.outputShapes[0]!;
  const rank = out0.length;
  const operand = (shape: number[], out: Box, keepRows: boolean): Box => {
    const batch = broadcastBox(shape.slice(0, -2), out.slice(0, rank - 2));
    const last2: Box = keepRows
      ? [
          [out[rank - 2]![0], out[rank - 2]![1]],
          [0, shape[shape.length - 1]!],
        ]
      : [
          [0, shape[shape.length - 2]!],
          [out[rank - 1]![0], out[rank - 1]![1]],
        ];
    return [...batch, ...last2];
  };
  return {
    ...base,
    options: optionsFor(layout, out0, () => true),
    widen: (out) => out,
    inputs: ([out]) => ({ inputs: [operand(a, out!, true), operand(b, out!, false)] }),
  };
}

function gemmGeometry(op: AnalyzedOp, layout: Layout, base: Base): OpGeometry {
  const attrs = new Attrs(op.node);
  const transA = attrs.int('transA', 0) === 1;
  const transB = attrs.int('transB', 0) === 1;
  const k = transA ? base.inputShapes[0]![0]! : base.inputShapes[0]![1]!;
  return {
    ...base,
    options: optionsFor(layout, base.outputShapes[0]!, () => true),
    widen: (out) => out,
    inputs: ([out]) => {
      const [m, n] = [out![0]!, out![1]!];
      const inputs: Array<Box | null> = [
        transA
          ? [
              [0, k],
              [m[0], m[1]],
            ]
          : [
              [m[0], m[1]],
              [0, k],
            ],
        transB
          ? [
              [n[0], n[1]],
              [0, k],
            ]
          : [
              [0, k],
              [n[0], n[1]],
            ],
      ];
      const c = base.inputShapes[2];
      if (c != null) inputs.push(broadcastBox(c, out!));
      return { inputs };
    },
  };
}

function concatGeometry(op: AnalyzedOp, layout: Layout, base: Base): OpGeometry {
  const out0 = base.outputShapes[0]!;
  let axis = new Attrs(op.node).int('axis', 0);
  if (axis < 0) axis += out0.length;
  const offsets: number[] = [];
  let offset = 0;
  for (const shape of base.inputShapes) {
    offsets.push(offset);
    offset += shape![axis]!;
  }
  return {
    ...base,
    options: optionsFor(layout, out0, () => true),
    widen: (out) => out,
    inputs: ([out]) => ({
      inputs: base.inputShapes.map((shape, i) => {
        const start = Math.max(out![axis]![0], offsets[i]!) - offsets[i]!;
        const end = Math.min(out![axis]![1], offsets[i]! + shape![axis]!) - offsets[i]!;
        if (end <= start) return null;
        return out!.map((r, a) => (a === axis ? [start, end] : [r[0], r[1]]) as [number, number]);
      }),
    }),
  };
}

function transposeGeometry(op: AnalyzedOp, layout: Layout, base: Base): OpGeometry {
  const rank = base.inputShapes[0]!.length;
  const perm = new Attrs(op.node).ints('perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
  return {
    ...base,
    options: optionsFor(layout, base.outputShapes[0]!, () => true),
    widen: (out) => out,
    inputs: ([out]) => {
      const input: Box = new Array(rank);
      perm.forEach((from, to) => (input[from] = [out![to]![0], out![to]![1]]));
      return { inputs: [input, ...base.inputShapes.slice(1).map((s) => (s === null ? null : fullBox(s)))] };
    },
  };
}

/** Runs of input axes and output axes with equal element counts (trailing size-1 axes join the last run). */
interface AxisGroup {
  inAxes: number[];
  outAxes: number[];
}

function axisGroups(inShape: readonly number[], outShape: readonly number[]): AxisGroup[] {
  const groups: AxisGroup[] = [];
  let i = 0;
  let j = 0;
  while (i < inShape.length && j < outShape.length) {
    const group: AxisGroup = { inAxes: [i], outAxes: [j] };
    let pin = inShape[i++]!;
    let pout = outShape[j++]!;
    while (pin !== pout) {
      if (pin < pout) {
        group.inAxes.push(i);
        pin *= inShape[i++]!;
      } else {
        group.outAxes.push(j);
        pout *= outShape[j++]!;
      }
    }
    groups.push(group);
  }
  if (groups.length === 0) groups.push({ inAxes: [], outAxes: [] });
  // Only size-1 axes can remain on one side: they join the last group.
  const last = groups[groups.length - 1]!;
  while (i < inShape.length) last.inAxes.push(i++);
  while (j < outShape.length) last.outAxes.push(j++);
  return groups;
}

/** A flat index range of a group's elements as a box over `axes`, or null when it is not a box. */
function flatToBox(shape: readonly number[], axes: readonly number[], f0: number, f1: number): Box | null {
  for (let k = axes.length - 1; k >= 0; k--) {
    let inner = 1;
    for (let t = k + 1; t < axes.length; t++) inner *= shape[axes[t]!]!;
    const size = shape[axes[k]!]!;
    if (f0 % inner !== 0 || f1 % inner !== 0) continue;
    const outer = inner * size;
    if (Math.floor(f0 / outer) !== Math.floor((f1 - 1) / outer)) continue;
    const box: Box = [];
    let rest = Math.floor(f0 / outer);
    for (let t = k - 1; t >= 0; t--) {
      const s = shape[axes[t]!]!;
      box.unshift([rest % s, (rest % s) + 1]);
      rest = Math.floor(rest / s);
    }
    box.push([(f0 / inner) % size, ((f0 / inner) % size) + (f1 - f0) / inner]);
    for (let t = k + 1; t < axes.length; t++) box.push([0, shape[axes[t]!]!]);
    return box;
  }
  return null;
}

/**
 * The flat range a box covers over `axes`, or null when it is not contiguous: axes after the last partial axis
 * must be full and axes before it must hold a single index.
 */
function boxToFlat(shape: readonly number[], axes: readonly number[], box: Box): [number, number] | null {
  let k = axes.length - 1;
  while (k > 0 && box[axes[k]!]![0] === 0 && box[axes[k]!]![1] === shape[axes[k]!]!) k--;
  let stride = 1;
  for (let t = axes.length - 1; t > k; t--) stride *= shape[axes[t]!]!;
  let start = box[axes[k]!]![0] * stride;
  const count = (box[axes[k]!]![1] - box[axes[k]!]![0]) * stride;
  stride *= shape[axes[k]!]!;
  for (let t = k - 1; t >= 0; t--) {
    const [s, e] = box[axes[t]!]!;
    if (e - s !== 1) return null;
    start += s * stride;
    stride *= shape[axes[t]!]!;
  }
  return [start, start + count];
}

function reshapeGeometry(type: string, layout: Layout, base: Base): OpGeometry {
  const inShape = base.inputShapes[0]!;
  const outShape = base.outputShapes[0]!;
  const groups = axisGroups(inShape, outShape);
  const mapGroup = (group: AxisGroup, out: Box): Box | null => {
    if (group.inAxes.length === 0 || group.outAxes.length === 0) return [];
    const flat = boxToFlat(outShape, group.outAxes, out);
    return flat === null ? null : flatToBox(inShape, group.inAxes, flat[0], flat[1]);
  };
  const widenBox = (out: Box): Box => {
    const wide = out.map((r) => [r[0], r[1]] as [number, number]);
    for (const group of groups) {
      if (mapGroup(group, out) === null) for (const a of group.outAxes) wide[a] = [0, outShape[a]!];
    }
    return wide;
  };
  // Ranges on `axis` map to boxes when they are multiples of a granule: 1, or (when merging axes, as Flatten
  // does) the elements of the input axes after the first one that is not 1, over the output axes after `axis`.
  const granuleOf = (axis: number): number => {
    const group = groups.find((g) => g.outAxes.includes(axis))!;
    const first = group.inAxes.findIndex((a) => inShape[a]! > 1);
    const inner = group.inAxes.slice(first + 1).reduce((n, a) => n * inShape[a]!, 1);
    const after = group.outAxes.filter((a) => a > axis).reduce((n, a) => n * outShape[a]!, 1);
    const extent = outShape[axis]!;
    for (const granule of [1, inner % after === 0 ? inner / after : 0]) {
      if (granule === 0 || extent % granule !== 0) continue;
      const full = fullBox(outShape);
      const exact = (start: number, end: number) => {
        const box = full.map((r, a) => (a === axis ? [start, end] : r) as [number, number]);
        return sameBox(widenBox(box), box);
      };
      if (exact(0, granule) && exact(extent - granule, extent) && (extent < 3 * granule || exact(granule, extent - granule)))
        return granule;
    }
    return 0;
  };
  return {
    ...base,
    options: optionsFor(layout, outShape, (axis) => granuleOf(axis) > 0, granuleOf),
    widen: (out) => out.map(widenBox),
    inputs: ([out]) => {
      const input: Box = fullBox(inShape);
      for (const group of groups) {
        const mapped = isEmpty(out!) ? null : mapGroup(group, out!);
        if (mapped === null) continue;
        group.inAxes.forEach((a, t) => (input[a] = mapped[t]!));
      }
      const inputs = [input, ...base.inputShapes.slice(1).map((s) => (s === null ? null : fullBox(s)))];
      // Flatten's axis already gives the slice's shape; Reshape needs the slice's own target shape.
      return type === 'Reshape' ? { inputs, overrides: { shape: out!.map(([s, e]) => e - s) } } : { inputs };
    },
  };
}

/**
 * The axes a grid placement of the operator cuts (docs/partition.md, "Grids"), or null: a CNN's operator with one
 * rank-4 output that can be split by `rows`, whose W axis (axis 3) has extent >= 2, and whose output regions cut
 * along W (first, last and middle columns) need no widening, so every tile is computed exactly as owned.
 */
export function gridAxesOf(layout: Layout, geometry: OpGeometry): GridAxes | null {
  if (layout.kind !== 'cnn' || geometry.outputShapes.length !== 1) return null;
  const rows = geometry.options.find((o) => o.dim === 'rows');
  const shape = geometry.outputShapes[0]!;
  if (rows === undefined || shape.length !== 4 || rows.axis !== 2) return null;
  const width = shape[3]!;
  if (width < 2) return null;
  const full = fullBox(shape);
  const exact = (start: number, end: number) => {
    const box = full.map((r, a) => (a === 3 ? [start, end] : r) as [number, number]);
    return sameBox(geometry.widen([box])[0]!, box);
  };
  if (!exact(0, 1) || !exact(width - 1, width) || (width >= 3 && !exact(1, width - 1))) return null;
  return { rows, colAxis: 3, colExtent: width };
}
