import { GraphBuilder } from '../ir/builder.ts';
import type { Graph } from '../ir/graph.ts';
import { cnnEntry } from './entry.ts';
import { batchNorm, classifierOutput, conv, gemm, maxPool, poolAndFlatten, relu, type Pair } from './layers.ts';

/** torchvision's BasicConv2d: convolution without bias, batch norm (eps 0.001), ReLU. */
export function basicConv(
  b: GraphBuilder,
  prefix: string,
  x: string,
  cin: number,
  cout: number,
  kernel: Pair,
  options: { stride?: Pair; pad?: Pair } = {},
): string {
  const y = conv(b, `${prefix}.conv`, x, cin, cout, { kernel, ...options });
  return relu(b, `${prefix}.relu`, batchNorm(b, `${prefix}.bn`, y, cout, 0.001));
}

/** Inception(in, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj) as torchvision builds it. */
type InceptionConfig = [number, number, number, number, number, number, number];

const INCEPTIONS: Record<string, InceptionConfig> = {
  inception3a: [192, 64, 96, 128, 16, 32, 32],
  inception3b: [256, 128, 128, 192, 32, 96, 64],
  inception4a: [480, 192, 96, 208, 16, 48, 64],
  inception4b: [512, 160, 112, 224, 24, 64, 64],
  inception4c: [512, 128, 128, 256, 24, 64, 64],
  inception4d: [512, 112, 144, 288, 32, 64, 64],
  inception4e: [528, 256, 160, 320, 32, 128, 128],
  inception5a: [832, 256, 160, 320, 32, 128, 128],
  inception5b: [832, 384, 192, 384, 48, 128, 128],
};

function inception(b: GraphBuilder, prefix: string, x: string, [cin, c1, c3r, c3, c5r, c5, pool]: InceptionConfig): string {
  const branch1 = basicConv(b, `${prefix}.branch1`, x, cin, c1, 1);
  const branch2 = basicConv(b, `${prefix}.branch2.1`, basicConv(b, `${prefix}.branch2.0`, x, cin, c3r, 1), c3r, c3, 3, { pad: 1 });
  // torchvision uses a 3×3 convolution in the "5×5" branch (a known deviation it keeps for its weights).
  const branch3 = basicConv(b, `${prefix}.branch3.1`, basicConv(b, `${prefix}.branch3.0`, x, cin, c5r, 1), c5r, c5, 3, { pad: 1 });
  const pooled = maxPool(b, `${prefix}.branch4.0`, x, { kernel: 3, stride: 1, pad: 1, ceil: true });
  const branch4 = basicConv(b, `${prefix}.branch4.1`, pooled, cin, pool, 1);
  return b.op('Concat', [branch1, branch2, branch3, branch4], { axis: 1 }, `${prefix}.concat`);
}

export function buildGoogLeNet(batch: number): Graph {
  const b = new GraphBuilder('googlenet');
  let x = b.input('input', 'float32', [batch, 3, 224, 224]);
  x = basicConv(b, 'conv1', x, 3, 64, 7, { stride: 2, pad: 3 });
  x = maxPool(b, 'maxpool1', x, { kernel: 3, stride: 2, ceil: true });
  x = basicConv(b, 'conv2', x, 64, 64, 1);
  x = basicConv(b, 'conv3', x, 64, 192, 3, { pad: 1 });
  x = maxPool(b, 'maxpool2', x, { kernel: 3, stride: 2, ceil: true });
  for (const [name, config] of Object.entries(INCEPTIONS)) {
    x = inception(b, name, x, config);
    if (name === 'inception3b') x = maxPool(b, 'maxpool3', x, { kernel: 3, stride: 2, ceil: true });
    if (name === 'inception4e') x = maxPool(b, 'maxpool4', x, { kernel: 2, stride: 2, ceil: true });
  }
  const logits = gemm(b, 'fc', poolAndFlatten(b, x), 1024, 1000);
  classifierOutput(b, logits, batch, 1000);
  return b.build();
}

export const googlenet = cnnEntry(
  {
    name: 'googlenet',
    title: 'GoogLeNet (Inception v1, with batch norm)',
    source: 'torchvision.models.googlenet (BasicConv2d with BN, aux_logits=False, transform_input=False)',
    publishedParams: 6_624_904,
    image: [3, 224, 224],
  },
  buildGoogLeNet,
);
