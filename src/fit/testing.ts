import type { Device } from '../cluster/types.ts';
import { presetDevice } from '../cluster/presets.ts';
import { analyzeGraph } from '../analysis/analyze.ts';
import { GraphBuilder } from '../ir/builder.ts';
import type { Model } from '../ir/graph.ts';
import { mulberry32 } from '../random.ts';

/**
 * Three convolutions, 1 → 4 → 4 → 1 channels on an 8×8 image (docs/memory.md, "Tiled steps", works its peaks out
 * by hand): 3×3 pad 1, 3×3 pad 1, 1×1; float32, so x and y are 256 B and a and b 1024 B.
 */
export function threeConvs(): Model {
  const b = new GraphBuilder('three-convs', { seed: 3 });
  const x = b.input('x', 'float32', [1, 1, 8, 8]);
  const a = b.op('Conv', [x, b.weight('w1', [4, 1, 3, 3])], { pads: [1, 1, 1, 1] }, 'conv1');
  const c = b.op('Conv', [a, b.weight('w2', [4, 4, 3, 3])], { pads: [1, 1, 1, 1] }, 'conv2');
  const y = b.op('Conv', [c, b.weight('w3', [1, 4, 1, 1])], {}, 'conv3');
  b.output(y);
  return analyzeGraph(b.build(), { name: 'three-convs' });
}

/** A small residual stack: conv, relu, conv, add (skip from the relu), max pool, 1×1 conv, on a 1×1×6×6 input. */
export function residualStack(): Model {
  const b = new GraphBuilder('residual-stack', { seed: 5 });
  const x = b.input('x', 'float32', [1, 1, 6, 6]);
  const c1 = b.op('Conv', [x, b.weight('w1', [2, 1, 3, 3]), b.weight('b1', [2])], { pads: [1, 1, 1, 1] }, 'conv1');
  const r = b.op('Relu', [c1], {}, 'relu');
  const c2 = b.op('Conv', [r, b.weight('w2', [2, 2, 3, 3])], { pads: [1, 1, 1, 1] }, 'conv2');
  const add = b.op('Add', [c2, r], {}, 'add');
  const p = b.op('MaxPool', [add], { kernel_shape: [2, 2], strides: [2, 2] }, 'pool');
  const y = b.op('Conv', [p, b.weight('w3', [3, 2, 1, 1])], {}, 'conv3');
  b.output(y);
  return analyzeGraph(b.build(), { name: 'residual-stack' });
}

/**
 * A random stack of 2–5 convolution layers on a 1×c×h×w image (seeded): each 1×1 or 3×3 (padded or not, stride 1
 * or 2, sometimes grouped), 1–4 channels, some followed by Relu, a 2×2 max pool or a residual Add of the layer's input.
 */
export function randomConvStack(seed: number): Model {
  const random = mulberry32(seed);
  const pick = (n: number) => Math.floor(random() * n);
  const b = new GraphBuilder(`conv-stack-${seed}`, { seed });
  let channels = 1 + pick(3);
  let size = 10 + pick(8);
  let x = b.input('x', 'float32', [1, channels, size, size]);
  const layers = 2 + pick(4);
  for (let i = 0; i < layers; i++) {
    const kernel = random() < 0.7 ? 3 : 1;
    const pad = kernel === 3 && random() < 0.8 ? 1 : 0;
    const stride = size >= 8 && random() < 0.25 ? 2 : 1;
    const out = random() < 0.3 ? channels : 1 + pick(4);
    const group = out === channels && channels > 1 && random() < 0.3 ? channels : 1;
    const weight = b.weight(`w${i}`, [out, channels / group, kernel, kernel]);
    const attributes = { pads: [pad, pad, pad, pad], strides: [stride, stride], ...(group > 1 ? { group } : {}) };
    let y = b.op('Conv', [x, weight, b.weight(`b${i}`, [out])], attributes, `conv${i}`);
    size = Math.floor((size + 2 * pad - kernel) / stride) + 1;
    if (random() < 0.5) y = b.op('Relu', [y], {}, `relu${i}`);
    if (out === channels && stride === 1 && kernel === 2 * pad + 1 && random() < 0.5) y = b.op('Add', [y, x], {}, `add${i}`);
    if (size >= 6 && random() < 0.25) {
      y = b.op('MaxPool', [y], { kernel_shape: [2, 2], strides: [2, 2] }, `pool${i}`);
      size = Math.floor(size / 2);
    }
    channels = out;
    x = y;
  }
  b.output(x);
  return analyzeGraph(b.build(), { name: `conv-stack-${seed}` });
}

/**
 * One attention head on 8 tokens of 2 channels (docs/memory.md, "Token chunks", works its peaks out by hand): q, k, v
 * = x·Wq, x·Wk, x·Wv, kᵀ, scores s = q·kᵀ (8×8), p = Softmax(s), o = p·v, y = o + x; float32, so x, q, k, kᵀ, v, o,
 * y are 64 B and s, p 256 B. No convolution: a sequence model, whose [B, T, C] tensors have their tokens on axis 1.
 */
export function tinyAttention(): Model {
  const b = new GraphBuilder('tiny-attention', { seed: 7 });
  const x = b.input('x', 'float32', [1, 8, 2]);
  const q = b.op('MatMul', [x, b.weight('wq', [2, 2])], {}, 'q');
  const k = b.op('MatMul', [x, b.weight('wk', [2, 2])], {}, 'k');
  const kt = b.op('Transpose', [k], { perm: [0, 2, 1] }, 'kt');
  const v = b.op('MatMul', [x, b.weight('wv', [2, 2])], {}, 'v');
  const s = b.op('MatMul', [q, kt], {}, 's');
  const p = b.op('Softmax', [s], { axis: -1 }, 'p');
  const o = b.op('MatMul', [p, v], {}, 'o');
  const y = b.op('Add', [o, x], {}, 'y');
  b.output(y);
  return analyzeGraph(b.build(), { name: 'tiny-attention' });
}

/**
 * A Concat whose parts a token chunk reads one at a time: c = Concat(−x, x) along channels (1×4×8), then t = cᵀ
 * (1×8×4), whose token axis (axis 1) is c's channel axis. In 2 chunks, chunk 0 owns t's rows 0–3 (all of −x) and
 * chunk 1 rows 4–7 (all of x): chunk 1 computes no Neg and its Concat reads only x.
 */
export function concatChunks(): Model {
  const b = new GraphBuilder('concat-chunks', { seed: 9 });
  const x = b.input('x', 'float32', [1, 4, 4]);
  const n = b.op('Neg', [x], {}, 'neg');
  const c = b.op('Concat', [n, x], { axis: 2 }, 'cat');
  const t = b.op('Transpose', [c], { perm: [0, 2, 1] }, 't');
  const y = b.op('MatMul', [t, b.weight('w', [4, 3])], {}, 'y');
  b.output(y);
  return analyzeGraph(b.build(), { name: 'concat-chunks' });
}

/**
 * Heads views in a sequence model: q = x·W (1×4×4) viewed as 4 tokens × 2 heads × 2 (Reshape), heads first
 * (Transpose), a Softmax per head, back (Transpose) and viewed as 1×4×4 again (Reshape), then ·W₂: the two views
 * may sit inside a chunk group only where their sources are in it and they are no exit (tiles.ts, viewsFit).
 */
export function tinyHeads(): Model {
  const b = new GraphBuilder('tiny-heads', { seed: 11 });
  const x = b.input('x', 'float32', [1, 4, 4]);
  const q = b.op('MatMul', [x, b.weight('w1', [4, 4])], {}, 'q');
  const r = b.op('Reshape', [q, b.int64('heads_shape', [1, 4, 2, 2])], {}, 'heads');
  const t = b.op('Transpose', [r], { perm: [0, 2, 1, 3] }, 'split');
  const s = b.op('Softmax', [t], { axis: -1 }, 'softmax');
  const m = b.op('Transpose', [s], { perm: [0, 2, 1, 3] }, 'merge');
  const f = b.op('Reshape', [m, b.int64('flat_shape', [1, 4, 4])], {}, 'flat');
  const y = b.op('MatMul', [f, b.weight('w2', [4, 4])], {}, 'y');
  b.output(y);
  return analyzeGraph(b.build(), { name: 'tiny-heads' });
}

/**
 * A Pi-class device with no memory bandwidth figure: the latency model then charges a cached tile nothing for its
 * copies (docs/fit.md, "Halos"), so the cached configurations of these toy models, whose one-channel convolutions
 * cost less to recompute than to copy, stay on their fronts for the tests that run them.
 */
export const copyFreePi: Device = (() => {
  const { memoryGBps: _, ...device } = presetDevice('pi')!;
  return device;
})();
