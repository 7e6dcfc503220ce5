import { GraphBuilder } from '../ir/builder.ts';
import type { Graph } from '../ir/graph.ts';
import { cnnEntry } from './entry.ts';
import { classifierOutput, conv, maxPool, relu } from './layers.ts';

/** torchvision squeezenet1_0: Fire(in, squeeze, expand1x1, expand3x3) modules, indexed as in `features`. */
const FEATURES: ({ fire: [number, number, number, number] } | 'pool')[] = [
  'pool',
  { fire: [96, 16, 64, 64] },
  { fire: [128, 16, 64, 64] },
  { fire: [128, 32, 128, 128] },
  'pool',
  { fire: [256, 32, 128, 128] },
  { fire: [256, 48, 192, 192] },
  { fire: [384, 48, 192, 192] },
  { fire: [384, 64, 256, 256] },
  'pool',
  { fire: [512, 64, 256, 256] },
];

function fire(b: GraphBuilder, prefix: string, x: string, [cin, squeeze, e1, e3]: [number, number, number, number]): string {
  const s = relu(b, `${prefix}.squeeze_activation`, conv(b, `${prefix}.squeeze`, x, cin, squeeze, { kernel: 1, bias: true }));
  const left = relu(b, `${prefix}.expand1x1_activation`, conv(b, `${prefix}.expand1x1`, s, squeeze, e1, { kernel: 1, bias: true }));
  const right = relu(
    b,
    `${prefix}.expand3x3_activation`,
    conv(b, `${prefix}.expand3x3`, s, squeeze, e3, { kernel: 3, pad: 1, bias: true }),
  );
  return b.op('Concat', [left, right], { axis: 1 }, `${prefix}.concat`);
}

export function buildSqueezeNet10(batch: number): Graph {
  const b = new GraphBuilder('squeezenet1.0');
  const input = b.input('input', 'float32', [batch, 3, 224, 224]);
  let x = relu(b, 'features.1', conv(b, 'features.0', input, 3, 96, { kernel: 7, stride: 2, bias: true }));
  FEATURES.forEach((layer, i) => {
    const name = `features.${i + 2}`;
    x = layer === 'pool' ? maxPool(b, name, x, { kernel: 3, stride: 2, ceil: true }) : fire(b, name, x, layer.fire);
  });
  x = relu(b, 'classifier.2', conv(b, 'classifier.1', x, 512, 1000, { kernel: 1, bias: true }));
  const pooled = b.op('GlobalAveragePool', [x], {}, 'classifier.3');
  const logits = b.op('Flatten', [pooled], { axis: 1 }, 'flatten');
  classifierOutput(b, logits, batch, 1000);
  return b.build();
}

export const squeezenet10 = cnnEntry(
  {
    name: 'squeezenet1.0',
    title: 'SqueezeNet 1.0',
    source: 'torchvision.models.squeezenet1_0 (8 Fire modules, 1×1 conv classifier)',
    publishedParams: 1_248_424,
    image: [3, 224, 224],
  },
  buildSqueezeNet10,
);
