import { GraphBuilder } from '../ir/builder.ts';
import type { Graph } from '../ir/graph.ts';
import { cnnEntry } from './entry.ts';
import { batchNorm, classifierOutput, conv, gemm, poolAndFlatten, relu } from './layers.ts';
import { makeDivisible } from './mobilenet.ts';

const BN_EPS = 1e-5;
const STEM_WIDTH = 32;

export interface RegNetStage {
  width: number;
  depth: number;
  groupWidth: number;
}

/**
 * torchvision's BlockParams.from_init_params: quantised linear widths w_j = w_0 · w_m^round(log(u_j / w_0) / log(w_m))
 * with u_j = w_0 + w_a · j, grouped into stages of equal width, then widths made divisible by the group width.
 */
export function regnetStages(depth: number, w0: number, wa: number, wm: number, groupWidth: number): RegNetStage[] {
  const quant = 8;
  const blockWidths = Array.from({ length: depth }, (_, j) => {
    const capacity = Math.round(Math.log((j * wa + w0) / w0) / Math.log(wm));
    return Math.round((w0 * wm ** capacity) / quant) * quant;
  });
  const stages: RegNetStage[] = [];
  for (const width of blockWidths) {
    const last = stages[stages.length - 1];
    if (last !== undefined && last.width === width) last.depth++;
    else stages.push({ width, depth: 1, groupWidth });
  }
  // Bottleneck multiplier 1: the group width is capped by the width, and the width rounded to a multiple of it.
  return stages.map((s) => {
    const g = Math.min(s.groupWidth, s.width);
    return { width: makeDivisible(s.width, g), depth: s.depth, groupWidth: g };
  });
}

function convBn(b: GraphBuilder, prefix: string, x: string, cin: number, cout: number, kernel: number, stride: number, groups = 1): string {
  return batchNorm(b, `${prefix}.1`, conv(b, `${prefix}.0`, x, cin, cout, { kernel, stride, pad: (kernel - 1) / 2, groups }), cout, BN_EPS);
}

/** ResBottleneckBlock with bottleneck multiplier 1 and squeeze-excitation sized from the block's input width. */
function block(
  b: GraphBuilder,
  p: string,
  x: string,
  cin: number,
  cout: number,
  stride: number,
  groupWidth: number,
  seRatio: number,
): string {
  const shortcut = cin !== cout || stride !== 1 ? convBn(b, `${p}.proj`, x, cin, cout, 1, stride) : x;
  let y = relu(b, `${p}.f.a.2`, convBn(b, `${p}.f.a`, x, cin, cout, 1, 1));
  y = relu(b, `${p}.f.b.2`, convBn(b, `${p}.f.b`, y, cout, cout, 3, stride, cout / groupWidth));
  const squeeze = Math.round(seRatio * cin);
  let s = b.op('GlobalAveragePool', [y], {}, `${p}.f.se.avgpool`);
  s = relu(b, `${p}.f.se.activation`, conv(b, `${p}.f.se.fc1`, s, cout, squeeze, { kernel: 1, bias: true }));
  s = b.op('Sigmoid', [conv(b, `${p}.f.se.fc2`, s, squeeze, cout, { kernel: 1, bias: true })], {}, `${p}.f.se.scale_activation`);
  y = b.op('Mul', [y, s], {}, `${p}.f.se.scale`);
  y = convBn(b, `${p}.f.c`, y, cout, cout, 1, 1);
  return relu(b, `${p}.activation`, b.op('Add', [shortcut, y], {}, `${p}.add`));
}

export function buildRegNetY400MF(batch: number): Graph {
  const b = new GraphBuilder('regnety-400mf');
  let x = b.input('input', 'float32', [batch, 3, 224, 224]);
  x = relu(b, 'stem.2', convBn(b, 'stem', x, 3, STEM_WIDTH, 3, 2));
  let channels = STEM_WIDTH;
  regnetStages(16, 48, 27.89, 2.09, 8).forEach((stage, s) => {
    for (let i = 0; i < stage.depth; i++) {
      x = block(b, `trunk_output.block${s + 1}.block${s + 1}-${i}`, x, channels, stage.width, i === 0 ? 2 : 1, stage.groupWidth, 0.25);
      channels = stage.width;
    }
  });
  const logits = gemm(b, 'fc', poolAndFlatten(b, x), channels, 1000);
  classifierOutput(b, logits, batch, 1000);
  return b.build();
}

export const regnety400mf = cnnEntry(
  {
    name: 'regnety-400mf',
    title: 'RegNetY-400MF',
    source: 'torchvision.models.regnet_y_400mf (depth 16, w_0 48, w_a 27.89, w_m 2.09, group width 8, SE 0.25)',
    publishedParams: 4_344_144,
    image: [3, 224, 224],
  },
  buildRegNetY400MF,
);
