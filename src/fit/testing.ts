import { analyzeGraph } from '../analysis/analyze.ts';
import { GraphBuilder } from '../ir/builder.ts';
import type { Model } from '../ir/graph.ts';

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
