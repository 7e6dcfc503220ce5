import { GraphBuilder } from '../ir/builder.ts';
import type { Graph } from '../ir/graph.ts';
import { cnnEntry } from './entry.ts';
import { classifierOutput, conv, gemm, maxPool, relu } from './layers.ts';

/** torchvision's configuration 'B' (vgg13): 3×3 convolutions with ReLU, 'M' a 2×2 max pool. */
const CONFIG_B: (number | 'M')[] = [64, 64, 'M', 128, 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'];

export function buildVgg13(batch: number): Graph {
  const b = new GraphBuilder('vgg13');
  let x = b.input('input', 'float32', [batch, 3, 224, 224]);
  let channels = 3;
  let index = 0;
  for (const layer of CONFIG_B) {
    if (layer === 'M') {
      x = maxPool(b, `features.${index++}`, x, { kernel: 2, stride: 2 });
      continue;
    }
    x = conv(b, `features.${index++}`, x, channels, layer, { kernel: 3, pad: 1, bias: true });
    x = relu(b, `features.${index++}`, x);
    channels = layer;
  }
  // AdaptiveAvgPool2d((7, 7)) is the identity at 224×224 (the features are already 7×7), so it is left out.
  x = b.op('Flatten', [x], { axis: 1 }, 'flatten');
  x = relu(b, 'classifier.1', gemm(b, 'classifier.0', x, 512 * 7 * 7, 4096));
  x = relu(b, 'classifier.4', gemm(b, 'classifier.3', x, 4096, 4096));
  const logits = gemm(b, 'classifier.6', x, 4096, 1000);
  classifierOutput(b, logits, batch, 1000);
  return b.build();
}

export const vgg13 = cnnEntry(
  {
    name: 'vgg13',
    title: 'VGG-13',
    source: "torchvision.models.vgg13 (configuration 'B', no batch norm)",
    publishedParams: 133_047_848,
    image: [3, 224, 224],
  },
  buildVgg13,
);
