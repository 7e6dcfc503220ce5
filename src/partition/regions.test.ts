import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { GraphBuilder } from '../ir/builder.ts';
import type { OpDecision, Placement } from './types.ts';
import type { PartitionContext } from './context.ts';
import { repairDecisions } from './slices.ts';
import { checkSliceExactness } from './testing.ts';

function values(seed: number): (size: number) => Float32Array {
  return (size) => {
    let s = seed >>> 0;
    return Float32Array.from({ length: size }, () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 2 ** 32 - 0.5;
    });
  };
}

const layerArb = fc.record({
  kind: fc.constantFrom('conv', 'conv', 'depthwise', 'maxpool', 'avgpool', 'relu'),
  kernel: fc.integer({ min: 1, max: 3 }),
  stride: fc.integer({ min: 1, max: 2 }),
  pad: fc.integer({ min: 0, max: 1 }),
  dilation: fc.integer({ min: 1, max: 2 }),
  outChannels: fc.integer({ min: 1, max: 4 }),
  ceil: fc.boolean(),
  countPad: fc.boolean(),
});

/** A chain of conv / pool / relu layers on [1, C, H, W]; layers that would leave no output become Relu. */
type Layer = typeof layerArb extends fc.Arbitrary<infer T> ? T : never;

function buildStack(channels: number, height: number, width: number, layers: Layer[]) {
  const b = new GraphBuilder('stack', { seed: 7 });
  let x = b.input('x', 'float32', [1, channels, height, width]);
  let [c, h, w] = [channels, height, width];
  for (const layer of layers) {
    const isPool = layer.kind === 'maxpool' || layer.kind === 'avgpool';
    const kernel = isPool ? Math.max(2, layer.kernel) : layer.kernel;
    const dilation = isPool ? 1 : layer.dilation;
    const pad = Math.min(layer.pad, Math.floor(kernel / 2));
    const span = (kernel - 1) * dilation + 1;
    const size = (n: number) => (layer.ceil && isPool ? Math.ceil : Math.floor)((n + 2 * pad - span) / layer.stride) + 1;
    if (layer.kind === 'relu' || size(h) < 1 || size(w) < 1 || h + 2 * pad < span || w + 2 * pad < span) {
      x = b.op('Relu', [x]);
      continue;
    }
    const attrs = { kernel_shape: [kernel, kernel], strides: [layer.stride, layer.stride], pads: [pad, pad, pad, pad] };
    if (layer.kind === 'conv' || layer.kind === 'depthwise') {
      const out = layer.kind === 'depthwise' ? c : layer.outChannels;
      const group = layer.kind === 'depthwise' ? c : 1;
      const weight = b.weight('w', [out, c / group, kernel, kernel]);
      const bias = b.weight('bias', [out]);
      x = b.op('Conv', [x, weight, bias], { ...attrs, dilations: [dilation, dilation], group });
      c = out;
    } else if (layer.kind === 'maxpool') {
      x = b.op('MaxPool', [x], { ...attrs, ceil_mode: layer.ceil ? 1 : 0 });
    } else {
      x = b.op('AveragePool', [x], { ...attrs, ceil_mode: layer.ceil ? 1 : 0, count_include_pad: layer.countPad ? 1 : 0 });
    }
    [h, w] = [size(h), size(w)];
  }
  b.output(x);
  return b.build();
}

/** Random decisions: often one placement for every operator (so stretches fuse), otherwise one per operator. */
function randomDecisions(ctx: PartitionContext, devices: number, pick: () => number): OpDecision[] {
  const placementFor = (p: number): Placement => {
    const options = ctx.space[p]!.options;
    const choice = pick() % (options.length + 1);
    if (choice === options.length) return { device: pick() % devices };
    const ratios: number[] = Array.from({ length: devices }, () => pick() % 4);
    if (!ratios.some((r) => r > 0)) ratios[pick() % devices] = 1;
    return { dim: options[choice]!.dim, ratios };
  };
  const shared = pick() % 10 < 7 ? placementFor(0) : undefined;
  const decisions = ctx.order.map((op, p): OpDecision => {
    const ownOptions = ctx.space[p]!.options;
    const usable = shared !== undefined && ('device' in shared || ownOptions.some((o) => o.dim === shared.dim));
    return { op, placement: usable ? shared : placementFor(p), sync: pick() % 3 === 0 };
  });
  return repairDecisions(ctx, decisions);
}

/** A random grid over `devices` devices (2 to `devices` tiles, random band ratios, devices in a random order). */
function randomGrid(devices: number, pick: () => number): Placement {
  const shapes = [
    [1, 2],
    [2, 1],
    [2, 2],
    [1, 3],
    [3, 1],
    [1, 4],
    [4, 1],
  ].filter(([r, c]) => r! * c! <= devices);
  const [r, c] = shapes[pick() % shapes.length]!;
  const ratios = (n: number) => Array.from({ length: n }, () => 1 + (pick() % 3));
  const order = Array.from({ length: devices }, (_, d) => d);
  for (let i = devices - 1; i > 0; i--) {
    const j = pick() % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return { dim: 'grid', rows: ratios(r!), cols: ratios(c!), devices: order.slice(0, r! * c!) };
}

/** Random decisions with grids: one shared grid on every operator that takes it (so stretches fuse), or per operator. */
function randomGridDecisions(ctx: PartitionContext, devices: number, pick: () => number): OpDecision[] {
  const shared = pick() % 10 < 7 ? randomGrid(devices, pick) : undefined;
  const decisions = ctx.order.map((op, p): OpDecision => {
    let placement: Placement;
    if (ctx.space[p]!.grid === null) placement = { device: pick() % devices };
    else placement = shared ?? (pick() % 4 === 0 ? { device: pick() % devices } : randomGrid(devices, pick));
    return { op, placement, sync: pick() % 3 === 0 };
  });
  return repairDecisions(ctx, decisions);
}

/** Random conv/pool stacks whose decisions `decide` draws: every device slice equals that region of the full output. */
async function assertStacksExact(decide: typeof randomDecisions, maxWidth: number, seed: number): Promise<void> {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 5, max: 13 }),
      fc.integer({ min: 5, max: maxWidth }),
      fc.array(layerArb, { minLength: 1, maxLength: 4 }),
      fc.integer({ min: 2, max: 4 }),
      fc.array(fc.nat(1000), { minLength: 64, maxLength: 64 }),
      async (channels, height, width, layers, devices, picks) => {
        let k = 0;
        const pick = () => picks[k++ % picks.length]!;
        const graph = buildStack(channels, height, width, layers);
        const report = await checkSliceExactness(graph, (ctx) => decide(ctx, devices, pick), devices, values(pick()));
        assert.ok(report.slicesChecked > 0);
        assert.ok(report.maxAbsError <= 1e-5, `max abs error ${report.maxAbsError}`);
      },
    ),
    { seed, numRuns: 60 },
  );
}

test('conv/pool stacks on grids: every device tile computed from only its input region equals that region of the full output', async () => {
  await assertStacksExact(randomGridDecisions, 13, 20261203);
});

test('residual CNN DAG on grids: every device tile equals that region of the full output', async () => {
  const graph = residualCnn();
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 2, max: 4 }), fc.array(fc.nat(1000), { minLength: 64, maxLength: 64 }), async (devices, picks) => {
      let k = 0;
      const pick = () => picks[k++ % picks.length]!;
      const report = await checkSliceExactness(graph, (ctx) => randomGridDecisions(ctx, devices, pick), devices, values(pick()));
      assert.ok(report.maxAbsError <= 1e-5, `max abs error ${report.maxAbsError}`);
    }),
    { seed: 11, numRuns: 30 },
  );
});

test('conv/pool stacks: every device slice computed from only its input region equals that region of the full output', async () => {
  await assertStacksExact(randomDecisions, 9, 20261123);
});

function attentionBlock() {
  const b = new GraphBuilder('attention', { seed: 3 });
  const [T, C, H] = [6, 8, 2];
  const x = b.input('x', 'float32', [1, T, C]);
  const norm = b.op('LayerNormalization', [x, b.weight('g', [C]), b.weight('beta', [C])], { axis: -1, epsilon: 1e-5 });
  // GPT-2 style: one projection to q, k and v, then Split.
  const qkv = b.op('Add', [b.op('MatMul', [norm, b.weight('qkv.w', [C, 3 * C])]), b.weight('qkv.b', [3 * C])]);
  const [qs, ks, vs] = b.node('Split', [qkv, b.int64('split', [C, C, C])], { axis: 2 }, { outputs: 3 });
  const heads = (t: string, perm: number[]) => b.op('Transpose', [b.op('Reshape', [t, b.int64('shape', [1, T, H, C / H])])], { perm });
  const q = heads(qs!, [0, 2, 1, 3]);
  const k = heads(ks!, [0, 2, 3, 1]);
  const v = heads(vs!, [0, 2, 1, 3]);
  const scores = b.op('Softmax', [b.op('Mul', [b.op('MatMul', [q, k]), b.float32('scale', [0.5], [])])], { axis: -1 });
  const context = b.op('Reshape', [b.op('Transpose', [b.op('MatMul', [scores, v])], { perm: [0, 2, 1, 3] }), b.int64('shape', [1, T, C])]);
  const residual = b.op('Add', [b.op('MatMul', [context, b.weight('o.w', [C, C])]), x]);
  const joined = b.op('Concat', [residual, b.op('Relu', [residual])], { axis: 2 });
  const flat = b.op('Reshape', [joined, b.int64('shape', [T, 2 * C])]);
  b.output(b.op('Gemm', [flat, b.weight('head.w', [5, 2 * C]), b.weight('head.b', [5])], { transB: 1 }));
  return b.build();
}

function residualCnn() {
  const b = new GraphBuilder('residual', { seed: 5 });
  const x = b.input('x', 'float32', [1, 3, 9, 9]);
  const stem = b.op('Relu', [b.op('Conv', [x, b.weight('w0', [4, 3, 3, 3])], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] })]);
  const bn = b.op(
    'BatchNormalization',
    [
      b.op('Conv', [stem, b.weight('w1', [4, 4, 3, 3])], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }),
      b.weight('s', [4]),
      b.weight('o', [4]),
      b.fill('m', [4], 0),
      b.fill('v', [4], 1),
    ],
    { epsilon: 1e-5 },
  );
  const sum = b.op('Relu', [b.op('Add', [bn, stem])]);
  const pooled = b.op('MaxPool', [sum], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
  const branch = b.op('Conv', [pooled, b.weight('w2', [2, 4, 1, 1])], { kernel_shape: [1, 1] });
  const joined = b.op('Concat', [pooled, branch], { axis: 1 });
  const gap = b.op('Flatten', [b.op('GlobalAveragePool', [joined])], { axis: 1 });
  // A Flatten that merges channels with 5×5 positions: channel splits come in granules of 25.
  const merged = b.op('Flatten', [pooled], { axis: 1 });
  const side = b.op('Gemm', [merged, b.weight('side.w', [3, 100])], { transB: 1 });
  b.output(b.op('Add', [b.op('Gemm', [gap, b.weight('fc.w', [3, 6]), b.weight('fc.b', [3])], { transB: 1 }), side]));
  return b.build();
}

/** Qwen2-style: RMSNorm (ReduceMean), rotary embedding (Slice, Neg, Concat), grouped-query attention on rank-5 tensors. */
function groupedQueryBlock() {
  const b = new GraphBuilder('gqa', { seed: 9 });
  const [T, C, H, KV, D] = [4, 16, 4, 2, 4];
  const x = b.input('x', 'float32', [1, T, C]);
  const variance = b.op('ReduceMean', [b.op('Mul', [x, x])], { axes: [-1], keepdims: 1 });
  const norm = b.op('Mul', [
    b.op('Div', [x, b.op('Sqrt', [b.op('Add', [variance, b.float32('eps', [1e-6], [])])])]),
    b.weight('gain', [C]),
  ]);
  const heads = (name: string, count: number, perm: number[]) =>
    b.op(
      'Transpose',
      [b.op('Reshape', [b.op('MatMul', [norm, b.weight(`${name}.w`, [C, count * D])]), b.int64('shape', [1, T, count, D])])],
      { perm },
    );
  const rope = (t: string) => {
    const first = b.op('Slice', [t, b.int64('s', [0]), b.int64('e', [D / 2]), b.int64('a', [3])]);
    const second = b.op('Slice', [t, b.int64('s', [D / 2]), b.int64('e', [D]), b.int64('a', [3])]);
    const rotated = b.op('Concat', [b.op('Neg', [second]), first], { axis: 3 });
    return b.op('Add', [b.op('Mul', [t, b.weight('cos', [T, D])]), b.op('Mul', [rotated, b.weight('sin', [T, D])])]);
  };
  const q = b.op('Reshape', [rope(heads('q', H, [0, 2, 1, 3])), b.int64('shape', [1, KV, H / KV, T, D])]);
  const k = b.op('Unsqueeze', [b.op('Transpose', [rope(heads('k', KV, [0, 2, 1, 3]))], { perm: [0, 1, 3, 2] }), b.int64('axes', [2])]);
  const v = b.op('Unsqueeze', [heads('v', KV, [0, 2, 1, 3]), b.int64('axes', [2])]);
  const probs = b.op('Softmax', [b.op('Add', [b.op('MatMul', [q, k]), b.weight('mask', [T, T])])], { axis: -1 });
  const merged = b.op('Reshape', [
    b.op('Transpose', [b.op('Reshape', [b.op('MatMul', [probs, v]), b.int64('shape', [1, H, T, D])])], { perm: [0, 2, 1, 3] }),
    b.int64('shape', [1, T, H * D]),
  ]);
  b.output(b.op('Add', [b.op('MatMul', [merged, b.weight('o.w', [H * D, C])]), x]));
  return b.build();
}

for (const [name, build] of [
  ['grouped-query attention (rms norm, rotary slices, rank-5 matmuls, unsqueeze)', groupedQueryBlock],
  ['attention block (tokens, heads, channels; split, reshape, transpose, softmax, layer norm)', attentionBlock],
  ['residual CNN DAG (add, concat, global pool, flatten merging axes, gemm)', residualCnn],
] as const) {
  test(`${name}: every device slice equals that region of the full output`, async () => {
    const graph = build();
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2, max: 4 }), fc.array(fc.nat(1000), { minLength: 64, maxLength: 64 }), async (devices, picks) => {
        let k = 0;
        const pick = () => picks[k++ % picks.length]!;
        const report = await checkSliceExactness(graph, (ctx) => randomDecisions(ctx, devices, pick), devices, values(pick()));
        assert.ok(report.maxAbsError <= 1e-5, `max abs error ${report.maxAbsError}`);
      }),
      { seed: 7, numRuns: 30 },
    );
  });
}
