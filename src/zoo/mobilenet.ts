import { GraphBuilder } from '../ir/builder.ts';
import type { Graph } from '../ir/graph.ts';
import { cnnEntry } from './entry.ts';
import { batchNorm, classifierOutput, conv, gemm, poolAndFlatten, relu } from './layers.ts';

const BN_EPS = 0.001;

type Activation = 'RE' | 'HS';

/** torchvision's bneck_conf rows for mobilenet_v3_large: input, kernel, expanded, output, SE, activation, stride. */
const LARGE: [number, number, number, number, boolean, Activation, number][] = [
  [16, 3, 16, 16, false, 'RE', 1],
  [16, 3, 64, 24, false, 'RE', 2],
  [24, 3, 72, 24, false, 'RE', 1],
  [24, 5, 72, 40, true, 'RE', 2],
  [40, 5, 120, 40, true, 'RE', 1],
  [40, 5, 120, 40, true, 'RE', 1],
  [40, 3, 240, 80, false, 'HS', 2],
  [80, 3, 200, 80, false, 'HS', 1],
  [80, 3, 184, 80, false, 'HS', 1],
  [80, 3, 184, 80, false, 'HS', 1],
  [80, 3, 480, 112, true, 'HS', 1],
  [112, 3, 672, 112, true, 'HS', 1],
  [112, 5, 672, 160, true, 'HS', 2],
  [160, 5, 960, 160, true, 'HS', 1],
  [160, 5, 960, 160, true, 'HS', 1],
];
const LAST_CHANNEL = 1280;

/** torchvision's _make_divisible: round to a multiple of 8, never more than 10% below the input. */
export function makeDivisible(value: number, divisor = 8): number {
  let rounded = Math.max(divisor, Math.floor((value + divisor / 2) / divisor) * divisor);
  if (rounded < 0.9 * value) rounded += divisor;
  return rounded;
}

function activate(b: GraphBuilder, name: string, x: string, activation: Activation): string {
  return activation === 'RE' ? relu(b, name, x) : b.op('HardSwish', [x], {}, name);
}

/** Conv2dNormActivation: convolution without bias, batch norm, optional activation. */
function convBnAct(
  b: GraphBuilder,
  prefix: string,
  x: string,
  cin: number,
  cout: number,
  kernel: number,
  stride: number,
  groups: number,
  activation?: Activation,
): string {
  const y = batchNorm(
    b,
    `${prefix}.1`,
    conv(b, `${prefix}.0`, x, cin, cout, { kernel, stride, pad: (kernel - 1) / 2, groups }),
    cout,
    BN_EPS,
  );
  return activation === undefined ? y : activate(b, `${prefix}.2`, y, activation);
}

/** Squeeze-and-excitation with ReLU and PyTorch's hardsigmoid (relu6(x + 3) / 6). */
function squeezeExcitation(b: GraphBuilder, prefix: string, x: string, channels: number): string {
  const squeeze = makeDivisible(channels / 4);
  let s = b.op('GlobalAveragePool', [x], {}, `${prefix}.avgpool`);
  s = relu(b, `${prefix}.relu`, conv(b, `${prefix}.fc1`, s, channels, squeeze, { kernel: 1, bias: true }));
  s = b.op(
    'HardSigmoid',
    [conv(b, `${prefix}.fc2`, s, squeeze, channels, { kernel: 1, bias: true })],
    { alpha: 1 / 6, beta: 0.5 },
    `${prefix}.hardsigmoid`,
  );
  return b.op('Mul', [x, s], {}, `${prefix}.scale`);
}

export function buildMobileNetV3Large(batch: number): Graph {
  const b = new GraphBuilder('mobilenetv3-large');
  let x = b.input('input', 'float32', [batch, 3, 224, 224]);
  x = convBnAct(b, 'features.0', x, 3, 16, 3, 2, 1, 'HS');
  LARGE.forEach(([cin, kernel, expanded, cout, se, activation, stride], i) => {
    const p = `features.${i + 1}.block`;
    let y = x;
    let layer = 0;
    if (expanded !== cin) y = convBnAct(b, `${p}.${layer++}`, y, cin, expanded, 1, 1, 1, activation);
    y = convBnAct(b, `${p}.${layer++}`, y, expanded, expanded, kernel, stride, expanded, activation);
    if (se) y = squeezeExcitation(b, `${p}.${layer++}`, y, expanded);
    y = convBnAct(b, `${p}.${layer++}`, y, expanded, cout, 1, 1, 1);
    x = stride === 1 && cin === cout ? b.op('Add', [y, x], {}, `features.${i + 1}.add`) : y;
  });
  const lastConv = 6 * 160;
  x = convBnAct(b, `features.${LARGE.length + 1}`, x, 160, lastConv, 1, 1, 1, 'HS');
  x = b.op('HardSwish', [gemm(b, 'classifier.0', poolAndFlatten(b, x), lastConv, LAST_CHANNEL)], {}, 'classifier.1');
  const logits = gemm(b, 'classifier.3', x, LAST_CHANNEL, 1000);
  classifierOutput(b, logits, batch, 1000);
  return b.build();
}

export const mobilenetv3Large = cnnEntry(
  {
    name: 'mobilenetv3-large',
    title: 'MobileNetV3-Large',
    source: 'torchvision.models.mobilenet_v3_large (width 1.0; hardswish, SE with hardsigmoid)',
    publishedParams: 5_483_032,
    image: [3, 224, 224],
  },
  buildMobileNetV3Large,
);
