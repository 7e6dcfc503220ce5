import { GraphBuilder } from '../ir/builder.ts';
import type { Graph } from '../ir/graph.ts';
import { batchNorm, classifierOutput, conv, gemm, maxPool, poolAndFlatten, relu } from './layers.ts';

type Operation = 'sep_conv_3x3' | 'dil_conv_3x3' | 'max_pool_3x3' | 'skip_connect';

/** DARTS-V2's cells (Liu et al. 2019, genotypes.py): two operations per intermediate node, [op, input state]. */
const NORMAL: [Operation, number][] = [
  ['sep_conv_3x3', 0],
  ['sep_conv_3x3', 1],
  ['sep_conv_3x3', 0],
  ['sep_conv_3x3', 1],
  ['sep_conv_3x3', 1],
  ['skip_connect', 0],
  ['skip_connect', 0],
  ['dil_conv_3x3', 2],
];
const REDUCE: [Operation, number][] = [
  ['max_pool_3x3', 0],
  ['max_pool_3x3', 1],
  ['skip_connect', 2],
  ['max_pool_3x3', 1],
  ['max_pool_3x3', 0],
  ['skip_connect', 2],
  ['skip_connect', 2],
  ['max_pool_3x3', 1],
];

export interface DartsOptions {
  /** Initial channels (36 for CIFAR-10 in the paper). */
  channels?: number;
  /** Cells; the ones at 1/3 and 2/3 of the depth are reduction cells. */
  cells?: number;
  resolution?: number;
  seed?: number;
}

/**
 * A DARTS-V2 network (CIFAR-10 layout) as an inference graph: stem 3×3 conv (3C) + BN, then a stack of cells.
 * Each cell preprocesses its two input states (ReLU → 1×1 conv → BN; a stride-2 1×1 conv when the state
 * before came from a reduction cell), builds four nodes each the Sum of two operations on earlier states, and
 * concatenates the four nodes. sep_conv = 2 × (ReLU → depthwise 3×3 → pointwise 1×1 → BN); dil_conv = ReLU →
 * depthwise 3×3 dilation 2 → pointwise → BN; skip in a reduction cell on an input state = ReLU → stride-2
 * 1×1 conv → BN (factorized reduce, simplified to one conv).
 */
export function dartsGraph(options: DartsOptions = {}): Graph {
  const c0 = options.channels ?? 36;
  const cells = options.cells ?? 8;
  const resolution = options.resolution ?? 32;
  const b = new GraphBuilder(`darts-v2-${cells}cells`, { seed: options.seed ?? 1 });
  const input = b.input('input', 'float32', [1, 3, resolution, resolution]);
  const stem = batchNorm(b, 'stem.bn', conv(b, 'stem.conv', input, 3, 3 * c0, { kernel: 3, pad: 1 }), 3 * c0, 1e-5);
  let [s0, s1] = [stem, stem];
  let [c0Out, c1Out] = [3 * c0, 3 * c0];
  let channels = c0;
  let previousReduction = false;
  const reluConvBn = (name: string, x: string, cin: number, cout: number, stride = 1) =>
    batchNorm(b, `${name}.bn`, conv(b, `${name}.conv`, relu(b, `${name}.relu`, x), cin, cout, { kernel: 1, stride }), cout, 1e-5);
  for (let cell = 0; cell < cells; cell++) {
    const reduction = cell === Math.floor(cells / 3) || cell === Math.floor((2 * cells) / 3);
    if (reduction) channels *= 2;
    const name = `cell${cell}`;
    const states = [
      reluConvBn(`${name}.pre0`, s0, c0Out, channels, previousReduction ? 2 : 1),
      reluConvBn(`${name}.pre1`, s1, c1Out, channels),
    ];
    const genotype = reduction ? REDUCE : NORMAL;
    const operation = ([op, from]: [Operation, number], k: number): string => {
      const x = states[from]!;
      const stride = reduction && from < 2 ? 2 : 1;
      const opName = `${name}.node${Math.floor(k / 2)}.${op}${k % 2}`;
      const separable = (prefix: string, v: string, s: number, dilation: number) => {
        const activated = relu(b, `${prefix}.relu`, v);
        const dwWeight = b.weight(`${prefix}.dw.weight`, [channels, 1, 3, 3]);
        const dw = b.op(
          'Conv',
          [activated, dwWeight],
          {
            kernel_shape: [3, 3],
            strides: [s, s],
            pads: [dilation, dilation, dilation, dilation],
            dilations: [dilation, dilation],
            group: channels,
          },
          `${prefix}.dw`,
        );
        return batchNorm(b, `${prefix}.bn`, conv(b, `${prefix}.pw`, dw, channels, channels, { kernel: 1 }), channels, 1e-5);
      };
      switch (op) {
        case 'sep_conv_3x3':
          return separable(`${opName}.b`, separable(`${opName}.a`, x, stride, 1), 1, 1);
        case 'dil_conv_3x3':
          return separable(opName, x, stride, 2);
        case 'max_pool_3x3':
          return maxPool(b, opName, x, { kernel: 3, stride, pad: 1 });
        case 'skip_connect':
          return stride === 1 ? b.op('Identity', [x], {}, opName) : reluConvBn(opName, x, channels, channels, 2);
      }
    };
    for (let node = 0; node < 4; node++) {
      const left = operation(genotype[2 * node]!, 2 * node);
      const right = operation(genotype[2 * node + 1]!, 2 * node + 1);
      states.push(b.op('Add', [left, right], {}, `${name}.node${node}`));
    }
    const output = b.op('Concat', states.slice(2), { axis: 1 }, `${name}.concat`);
    [s0, s1] = [s1, output];
    [c0Out, c1Out] = [c1Out, 4 * channels];
    previousReduction = reduction;
  }
  classifierOutput(b, gemm(b, 'classifier', poolAndFlatten(b, s1), c1Out, 10), 1, 10);
  return b.build();
}
