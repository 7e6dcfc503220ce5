import { analyzeGraph } from '../analysis/analyze.ts';
import { GraphBuilder } from '../ir/builder.ts';
import { presetCluster } from '../cluster/presets.ts';
import type { Model } from '../ir/graph.ts';
import { proportionalPlan } from '../plan/build.ts';
import type { Plan } from '../plan/types.ts';

/**
 * A small zoo-like CNN for runtime tests: strided and padded convolutions with batch norm, a grouped
 * convolution, max and ceil-mode average pooling, a residual add, a channel concat, global pooling, Flatten and
 * Gemm — every region rule the runtime must execute, at a size that runs in milliseconds.
 */
export function smallCnn(size = 20): Model {
  const b = new GraphBuilder('small-cnn', { seed: 7 });
  const x = b.input('image', 'float32', [1, 3, size, size]);
  const c1 = b.op('Conv', [x, b.weight('c1.w', [8, 3, 3, 3]), b.weight('c1.b', [8])], { pads: [1, 1, 1, 1], strides: [2, 2] }, 'conv1');
  const bn = b.op(
    'BatchNormalization',
    [c1, b.weight('bn.s', [8]), b.weight('bn.b', [8]), b.weight('bn.m', [8]), b.fill('bn.v', [8], 1)],
    { epsilon: 1e-5 },
    'bn1',
  );
  const r1 = b.op('Relu', [bn], {}, 'relu1');
  const p1 = b.op('MaxPool', [r1], { kernel_shape: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1] }, 'pool1');
  const c2 = b.op('Conv', [p1, b.weight('c2.w', [8, 2, 3, 3])], { pads: [1, 1, 1, 1], group: 4 }, 'conv2_grouped');
  const add = b.op('Add', [c2, r1], {}, 'residual');
  const c3 = b.op('Conv', [add, b.weight('c3.w', [4, 8, 1, 1])], {}, 'conv3');
  const c4 = b.op('Conv', [add, b.weight('c4.w', [4, 8, 3, 3])], { pads: [2, 2, 2, 2], dilations: [2, 2] }, 'conv4_dilated');
  const cat = b.op('Concat', [c3, c4], { axis: 1 }, 'concat');
  const p2 = b.op('AveragePool', [cat], { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 }, 'avgpool');
  const g = b.op('GlobalAveragePool', [p2], {}, 'gap');
  const f = b.op('Flatten', [g], { axis: 1 }, 'flatten');
  const y = b.op('Gemm', [f, b.weight('fc.w', [10, 8]), b.weight('fc.b', [10])], { transB: 1 }, 'fc');
  b.output(y);
  return analyzeGraph(b.build(), { name: 'small-cnn' });
}

/** The small CNN's rows split proportionally over the two devices of homo2, every operator synchronised. */
export function smallCnnRowPlan(model: Model = smallCnn()): Plan {
  return proportionalPlan(
    model,
    presetCluster('homo2')!,
    model.ops.map((op) => op.node.name),
    ['rows'],
  );
}
