import { fail } from '../../errors.ts';
import { runTimeElements } from '../partial.ts';
import type { OpContext, OpTable, OutputType } from './types.ts';
import { broadcastIndexer, broadcastShapes, describe, elements, normalizeAxis, product, requireRank, strides, list } from './util.ts';

/** Row-major values of an output of `shape`, element at `coords` taken from `source(coords)`. */
function tabulate(shape: number[], source: (coords: number[]) => number): number[] {
  const total = product(shape);
  const s = strides(shape);
  const out = new Array<number>(total);
  const coords = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < total; flat++) {
    for (let i = 0; i < shape.length; i++) coords[i] = Math.floor(flat / s[i]!) % shape[i]!;
    out[flat] = source(coords);
  }
  return out;
}

function flatIndex(shape: number[], coords: number[]): number {
  const s = strides(shape);
  return coords.reduce((acc, c, i) => acc + c * s[i]!, 0);
}

interface SliceAxis {
  axis: number;
  start: number;
  step: number;
}

/** Slice per ONNX/numpy rules: negative starts/ends count from the end, then clamp; steps may be negative. */
function sliceGeometry(ctx: OpContext): { shape: number[]; axes: SliceAxis[] } {
  const shape = [...ctx.input(0).shape];
  const rank = shape.length;
  let starts: number[];
  let ends: number[];
  let axes: number[] | undefined;
  let steps: number[] | undefined;
  if (ctx.opset < 10) {
    starts = ctx.attrs.ints('starts') ?? [];
    ends = ctx.attrs.ints('ends') ?? [];
    axes = ctx.attrs.ints('axes');
  } else {
    starts = ctx.values(1);
    ends = ctx.values(2);
    axes = ctx.optional(3) === undefined ? undefined : ctx.values(3);
    steps = ctx.optional(4) === undefined ? undefined : ctx.values(4);
  }
  if (starts.length !== ends.length) fail(`${describe(ctx.node)}: ${starts.length} starts but ${ends.length} ends`, 'invalid-model');
  const axisList = (axes ?? starts.map((_, i) => i)).map((a) => normalizeAxis(ctx.node, a, rank));
  const sliced: SliceAxis[] = [];
  axisList.forEach((axis, i) => {
    const d = shape[axis]!;
    const step = steps?.[i] ?? 1;
    if (step === 0) fail(`${describe(ctx.node)}: step 0 on axis ${axis}`, 'invalid-model');
    let start = starts[i]!;
    let end = ends[i]!;
    if (start < 0) start += d;
    if (end < 0) end += d;
    if (step > 0) {
      start = Math.min(Math.max(start, 0), d);
      end = Math.min(Math.max(end, 0), d);
    } else {
      start = Math.min(Math.max(start, 0), d - 1);
      end = Math.min(Math.max(end, -1), d - 1);
    }
    shape[axis] = Math.max(0, Math.ceil((end - start) / step));
    sliced.push({ axis, start, step });
  });
  return { shape, axes: sliced };
}

/** Concat's output shape: inputs agree except on `axis`, whose sizes add up. */
function concatShape(ctx: OpContext): number[] {
  const inputs = ctx.present();
  const first = inputs[0]!.shape;
  const axis = normalizeAxis(ctx.node, ctx.attrs.int('axis', 0), first.length);
  const shape = [...first];
  shape[axis] = 0;
  for (const t of inputs) {
    if (t.shape.length !== first.length || t.shape.some((d, i) => i !== axis && d !== first[i])) {
      fail(`${describe(ctx.node)}: input '${t.name}' ${list(t.shape)} does not match ${list(first)} outside axis ${axis}`, 'invalid-model');
    }
    shape[axis]! += t.shape[axis]!;
  }
  return shape;
}

function splitSizes(ctx: OpContext): number[] {
  const x = ctx.input(0);
  const axis = normalizeAxis(ctx.node, ctx.attrs.int('axis', 0), x.shape.length);
  const d = x.shape[axis]!;
  const count = ctx.node.outputs.length;
  const explicit = ctx.opset >= 13 ? (ctx.optional(1) === undefined ? undefined : ctx.values(1)) : ctx.attrs.ints('split');
  if (explicit !== undefined && explicit.length > 0) {
    if (explicit.reduce((a, b) => a + b, 0) !== d)
      fail(`${describe(ctx.node)}: split ${list(explicit)} does not add up to ${d}`, 'invalid-model');
    return explicit;
  }
  // Opset 18's num_outputs allows a smaller last chunk; without it the split is even.
  const chunk = Math.ceil(d / count);
  if (!ctx.attrs.has('num_outputs') && d % count !== 0)
    fail(`${describe(ctx.node)}: axis size ${d} does not split evenly into ${count}`, 'invalid-model');
  return Array.from({ length: count }, (_, i) => Math.max(0, Math.min(chunk, d - i * chunk)));
}

function gatherShape(ctx: OpContext): { shape: number[]; axis: number } {
  const data = ctx.input(0).shape;
  const indices = ctx.input(1).shape;
  const axis = normalizeAxis(ctx.node, ctx.attrs.int('axis', 0), data.length);
  return { shape: [...data.slice(0, axis), ...indices, ...data.slice(axis + 1)], axis };
}

/** Pads of Pad: an attribute before opset 11, input 1 after; opset 18 adds an optional axes input. */
function padShape(ctx: OpContext): number[] {
  const shape = ctx.input(0).shape;
  const rank = shape.length;
  const pads = ctx.opset < 11 ? (ctx.attrs.ints('pads') ?? ctx.attrs.ints('paddings') ?? []) : ctx.values(1);
  const axes =
    ctx.optional(3) === undefined ? Array.from({ length: rank }, (_, i) => i) : ctx.values(3).map((a) => normalizeAxis(ctx.node, a, rank));
  if (pads.length !== 2 * axes.length) fail(`${describe(ctx.node)}: ${pads.length} pads for ${axes.length} axes`, 'invalid-model');
  const out = [...shape];
  axes.forEach((axis, i) => {
    out[axis] = shape[axis]! + pads[i]! + pads[i + axes.length]!;
  });
  return out;
}

/** Expand's target shape; an element computed at run time is the input's dimension there when that is not 1. */
function expandTarget(ctx: OpContext): number[] {
  const x = ctx.input(0).shape;
  const target = ctx.partialValues(1);
  return target.map((d, i) => {
    if (d !== undefined) return d;
    const own = x[x.length - target.length + i];
    return own !== undefined && own !== 1 ? own : runTimeElements(ctx, 1, target);
  });
}

function transposePerm(ctx: OpContext): number[] {
  const rank = ctx.input(0).shape.length;
  const perm = ctx.attrs.ints('perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
  if (perm.length !== rank || new Set(perm).size !== rank || perm.some((p) => p < 0 || p >= rank)) {
    fail(`${describe(ctx.node)}: perm ${list(perm)} is not a permutation of rank ${rank}`, 'invalid-model');
  }
  return perm;
}

function blockSize(ctx: OpContext): number {
  const b = ctx.attrs.int('blocksize', 0);
  if (b < 1) fail(`${describe(ctx.node)} needs a positive blocksize`, 'invalid-model');
  return b;
}

function resizeShape(ctx: OpContext): number[] {
  const x = ctx.input(0).shape;
  const rank = x.length;
  let scales: number[] | undefined;
  let sizes: number[] | undefined;
  if (ctx.node.opType === 'Upsample') {
    scales = ctx.opset < 9 ? ctx.attrs.floats('scales') : ctx.values(1);
  } else if (ctx.opset < 11) {
    scales = ctx.values(1);
  } else {
    const s = ctx.optional(2);
    if (s !== undefined && s.shape.some((d) => d > 0) && product(s.shape) > 0) scales = ctx.values(2);
    if (ctx.optional(3) !== undefined) sizes = ctx.values(3);
  }
  const axes = (ctx.attrs.ints('axes') ?? Array.from({ length: rank }, (_, i) => i)).map((a) => normalizeAxis(ctx.node, a, rank));
  const out = [...x];
  if (sizes !== undefined && sizes.length > 0) {
    const policy = ctx.attrs.string('keep_aspect_ratio_policy', 'stretch');
    if (policy === 'stretch') {
      axes.forEach((axis, i) => (out[axis] = sizes![i]!));
    } else {
      const ratios = axes.map((axis, i) => sizes![i]! / x[axis]!);
      const scale = policy === 'not_larger' ? Math.min(...ratios) : Math.max(...ratios);
      axes.forEach((axis) => (out[axis] = Math.round(scale * x[axis]!)));
    }
    return out;
  }
  if (scales === undefined) fail(`${describe(ctx.node)} has neither scales nor sizes`, 'invalid-model');
  if (scales.length !== axes.length) fail(`${describe(ctx.node)}: ${scales.length} scales for rank ${axes.length}`, 'invalid-model');
  axes.forEach((axis, i) => (out[axis] = Math.floor(x[axis]! * scales![i]!)));
  return out;
}

function topKShape(ctx: OpContext): OutputType[] {
  const x = ctx.input(0);
  const axis = normalizeAxis(ctx.node, ctx.attrs.int('axis', -1), x.shape.length);
  const k = ctx.opset < 10 ? ctx.attrs.int('k', 0) : ctx.values(1)[0]!;
  const shape = [...x.shape];
  shape[axis] = k;
  return [
    { dtype: x.dtype, shape },
    { dtype: 'int64', shape: [...shape] },
  ];
}

export const movementOps: OpTable = {
  Transpose: {
    infer: (ctx) => {
      const x = ctx.input(0);
      return [{ dtype: x.dtype, shape: transposePerm(ctx).map((p) => x.shape[p]!) }];
    },
    evaluate: (ctx, outputs) => {
      const x = ctx.input(0);
      const perm = transposePerm(ctx);
      return [
        tabulate(outputs[0]!.shape, (coords) => {
          const source = new Array<number>(coords.length);
          perm.forEach((p, i) => (source[p] = coords[i]!));
          return x.value![flatIndex(x.shape, source)]!;
        }),
      ];
    },
  },
  Concat: {
    infer: (ctx) => [{ dtype: ctx.input(0).dtype, shape: concatShape(ctx) }],
    evaluate: (ctx, outputs) => {
      const inputs = ctx.present();
      const axis = normalizeAxis(ctx.node, ctx.attrs.int('axis', 0), inputs[0]!.shape.length);
      return [
        tabulate(outputs[0]!.shape, (coords) => {
          let offset = coords[axis]!;
          for (const t of inputs) {
            if (offset < t.shape[axis]!)
              return t.value![
                flatIndex(
                  t.shape,
                  coords.map((c, i) => (i === axis ? offset : c)),
                )
              ]!;
            offset -= t.shape[axis]!;
          }
          return 0;
        }),
      ];
    },
  },
  Split: {
    infer: (ctx) => {
      const x = ctx.input(0);
      const axis = normalizeAxis(ctx.node, ctx.attrs.int('axis', 0), x.shape.length);
      return splitSizes(ctx).map((size) => ({ dtype: x.dtype, shape: x.shape.map((d, i) => (i === axis ? size : d)) }));
    },
    evaluate: (ctx, outputs) => {
      const x = ctx.input(0);
      const axis = normalizeAxis(ctx.node, ctx.attrs.int('axis', 0), x.shape.length);
      let start = 0;
      return outputs.map((out) => {
        const offset = start;
        start += out.shape[axis]!;
        return tabulate(
          out.shape,
          (coords) =>
            x.value![
              flatIndex(
                x.shape,
                coords.map((c, i) => (i === axis ? c + offset : c)),
              )
            ]!,
        );
      });
    },
    valueInputs: [1],
  },
  Slice: {
    infer: (ctx) => [{ dtype: ctx.input(0).dtype, shape: sliceGeometry(ctx).shape }],
    evaluate: (ctx, outputs) => {
      const x = ctx.input(0);
      const { axes } = sliceGeometry(ctx);
      return [
        tabulate(outputs[0]!.shape, (coords) => {
          const source = [...coords];
          for (const { axis, start, step } of axes) source[axis] = start + coords[axis]! * step;
          return x.value![flatIndex(x.shape, source)]!;
        }),
      ];
    },
    valueInputs: [1, 2, 3, 4],
  },
  Gather: {
    infer: (ctx) => [{ dtype: ctx.input(0).dtype, shape: gatherShape(ctx).shape }],
    evaluate: (ctx, outputs) => {
      const data = ctx.input(0);
      const indices = ctx.input(1);
      const { axis } = gatherShape(ctx);
      const indexRank = indices.shape.length;
      const d = data.shape[axis]!;
      return [
        tabulate(outputs[0]!.shape, (coords) => {
          const raw = indices.value![flatIndex(indices.shape, coords.slice(axis, axis + indexRank))]!;
          const index = raw < 0 ? raw + d : raw;
          if (index < 0 || index >= d) fail(`${describe(ctx.node)}: index ${raw} is out of range for size ${d}`, 'invalid-model');
          const source = [...coords.slice(0, axis), index, ...coords.slice(axis + indexRank)];
          return data.value![flatIndex(data.shape, source)]!;
        }),
      ];
    },
  },
  GatherElements: { infer: (ctx) => [{ dtype: ctx.input(0).dtype, shape: [...ctx.input(1).shape] }] },
  GatherND: {
    infer: (ctx) => {
      const data = ctx.input(0).shape;
      const indices = ctx.input(1).shape;
      const batchDims = ctx.attrs.int('batch_dims', 0);
      const depth = indices[indices.length - 1]!;
      return [{ dtype: ctx.input(0).dtype, shape: [...indices.slice(0, -1), ...data.slice(batchDims + depth)] }];
    },
  },
  ScatterND: { infer: (ctx) => [{ dtype: ctx.input(0).dtype, shape: [...ctx.input(0).shape] }] },
  ScatterElements: { infer: (ctx) => [{ dtype: ctx.input(0).dtype, shape: [...ctx.input(0).shape] }] },
  Scatter: { infer: (ctx) => [{ dtype: ctx.input(0).dtype, shape: [...ctx.input(0).shape] }] },
  Expand: {
    infer: (ctx) => [{ dtype: ctx.input(0).dtype, shape: broadcastShapes(ctx.node, [ctx.input(0).shape, expandTarget(ctx)]) }],
    evaluate: (ctx, outputs) => {
      const x = ctx.input(0);
      const index = broadcastIndexer(x.shape, outputs[0]!.shape);
      return [Array.from({ length: elements(outputs) }, (_, i) => x.value![index(i)]!)];
    },
    valueInputs: [1],
  },
  Tile: {
    infer: (ctx) => {
      const x = ctx.input(0);
      const repeats = ctx.values(1);
      if (repeats.length !== x.shape.length)
        fail(`${describe(ctx.node)}: ${repeats.length} repeats for rank ${x.shape.length}`, 'invalid-model');
      return [{ dtype: x.dtype, shape: x.shape.map((d, i) => d * repeats[i]!) }];
    },
    evaluate: (ctx, outputs) => {
      const x = ctx.input(0);
      return [
        tabulate(
          outputs[0]!.shape,
          (coords) =>
            x.value![
              flatIndex(
                x.shape,
                coords.map((c, i) => c % x.shape[i]!),
              )
            ]!,
        ),
      ];
    },
    valueInputs: [1],
  },
  Pad: { infer: (ctx) => [{ dtype: ctx.input(0).dtype, shape: padShape(ctx) }], valueInputs: [1, 3] },
  SpaceToDepth: {
    infer: (ctx) => {
      const [n, c, h, w] = requireRank(ctx, 0, 4, 4).shape as [number, number, number, number];
      const b = blockSize(ctx);
      if (h % b !== 0 || w % b !== 0)
        fail(`${describe(ctx.node)}: spatial size ${h}×${w} is not divisible by blocksize ${b}`, 'invalid-model');
      return [{ dtype: ctx.input(0).dtype, shape: [n, c * b * b, h / b, w / b] }];
    },
  },
  DepthToSpace: {
    infer: (ctx) => {
      const [n, c, h, w] = requireRank(ctx, 0, 4, 4).shape as [number, number, number, number];
      const b = blockSize(ctx);
      if (c % (b * b) !== 0) fail(`${describe(ctx.node)}: ${c} channels are not divisible by blocksize² ${b * b}`, 'invalid-model');
      return [{ dtype: ctx.input(0).dtype, shape: [n, c / (b * b), h * b, w * b] }];
    },
  },
  Trilu: { infer: (ctx) => [{ dtype: ctx.input(0).dtype, shape: [...ctx.input(0).shape] }], valueInputs: [1] },
  ReverseSequence: { infer: (ctx) => [{ dtype: ctx.input(0).dtype, shape: [...ctx.input(0).shape] }] },
  /** One add per element. */
  CumSum: { infer: (ctx) => [{ dtype: ctx.input(0).dtype, shape: [...ctx.input(0).shape] }], flops: (_ctx, outputs) => elements(outputs) },
  /** One comparison per input element. */
  TopK: { infer: topKShape, flops: (ctx) => product(ctx.input(0).shape), valueInputs: [1] },
  Resize: {
    infer: (ctx) => [{ dtype: ctx.input(0).dtype, shape: resizeShape(ctx) }],
    flops: (ctx, outputs) => resizeFlops(ctx, outputs),
    valueInputs: [1, 2, 3],
  },
  Upsample: {
    infer: (ctx) => [{ dtype: ctx.input(0).dtype, shape: resizeShape(ctx) }],
    flops: (ctx, outputs) => resizeFlops(ctx, outputs),
    valueInputs: [1],
  },
  OneHot: {
    infer: (ctx) => {
      const indices = ctx.input(0).shape;
      const depth = ctx.values(1)[0]!;
      const rank = indices.length + 1;
      const axis = normalizeAxis(ctx.node, ctx.attrs.int('axis', -1), rank);
      return [{ dtype: ctx.input(2).dtype, shape: [...indices.slice(0, axis), depth, ...indices.slice(axis)] }];
    },
    valueInputs: [1],
  },
};

/** Resize: nearest 0; per output element and resized axis, linear 3 FLOPs, cubic 8. */
function resizeFlops(ctx: OpContext, outputs: OutputType[]): number {
  const mode = ctx.attrs.string('mode', 'nearest');
  const perAxis = mode === 'linear' || mode === 'bilinear' ? 3 : mode === 'cubic' ? 8 : 0;
  const x = ctx.input(0).shape;
  const resized = outputs[0]!.shape.filter((d, i) => d !== x[i]).length;
  return perAxis * resized * elements(outputs);
}
