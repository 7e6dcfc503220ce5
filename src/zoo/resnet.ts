import { GraphBuilder } from '../ir/builder.ts';
import type { Graph } from '../ir/graph.ts';
import { cnnEntry } from './entry.ts';
import { batchNorm, classifierOutput, conv, gemm, maxPool, poolAndFlatten, relu } from './layers.ts';

const BN_EPS = 1e-5;

/** torchvision resnet50: Bottleneck blocks [3, 4, 6, 3], stride on the 3×3 convolution (ResNet v1.5). */
const STAGES = [
  { blocks: 3, planes: 64, stride: 1 },
  { blocks: 4, planes: 128, stride: 2 },
  { blocks: 6, planes: 256, stride: 2 },
  { blocks: 3, planes: 512, stride: 2 },
];
const EXPANSION = 4;

function convBn(b: GraphBuilder, conv_: string, bn: string, x: string, cin: number, cout: number, kernel: number, stride: number): string {
  return batchNorm(b, bn, conv(b, conv_, x, cin, cout, { kernel, stride, pad: Math.floor(kernel / 2) }), cout, BN_EPS);
}

function bottleneck(b: GraphBuilder, prefix: string, x: string, cin: number, planes: number, stride: number): string {
  const cout = planes * EXPANSION;
  let y = relu(b, `${prefix}.relu1`, convBn(b, `${prefix}.conv1`, `${prefix}.bn1`, x, cin, planes, 1, 1));
  y = relu(b, `${prefix}.relu2`, convBn(b, `${prefix}.conv2`, `${prefix}.bn2`, y, planes, planes, 3, stride));
  y = convBn(b, `${prefix}.conv3`, `${prefix}.bn3`, y, planes, cout, 1, 1);
  const identity =
    stride !== 1 || cin !== cout ? convBn(b, `${prefix}.downsample.0`, `${prefix}.downsample.1`, x, cin, cout, 1, stride) : x;
  return relu(b, `${prefix}.relu3`, b.op('Add', [y, identity], {}, `${prefix}.add`));
}

export function buildResNet50(batch: number): Graph {
  const b = new GraphBuilder('resnet50');
  const input = b.input('input', 'float32', [batch, 3, 224, 224]);
  let x = relu(b, 'relu', convBn(b, 'conv1', 'bn1', input, 3, 64, 7, 2));
  x = maxPool(b, 'maxpool', x, { kernel: 3, stride: 2, pad: 1 });
  let channels = 64;
  STAGES.forEach((stage, s) => {
    for (let i = 0; i < stage.blocks; i++) {
      x = bottleneck(b, `layer${s + 1}.${i}`, x, channels, stage.planes, i === 0 ? stage.stride : 1);
      channels = stage.planes * EXPANSION;
    }
  });
  const logits = gemm(b, 'fc', poolAndFlatten(b, x), channels, 1000);
  classifierOutput(b, logits, batch, 1000);
  return b.build();
}

export const resnet50 = cnnEntry(
  {
    name: 'resnet50',
    title: 'ResNet-50',
    source: 'torchvision.models.resnet50 (Bottleneck [3, 4, 6, 3], v1.5 stride on the 3×3 conv)',
    publishedParams: 25_557_032,
    image: [3, 224, 224],
  },
  buildResNet50,
);
