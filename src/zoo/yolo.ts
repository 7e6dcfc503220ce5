import { GraphBuilder } from '../ir/builder.ts';
import type { Graph } from '../ir/graph.ts';
import { cnnEntry } from './entry.ts';
import { batchNorm, conv, maxPool } from './layers.ts';

const INPUT = 608;
const OUTPUT_CHANNELS = 425; // 5 anchors × (80 classes + 5 box terms)

/** darknet's yolov2.cfg up to the route layer: [filters, size] for a BN + leaky conv, 'M' for a 2×2/2 max pool. */
const BACKBONE: ([number, number] | 'M')[] = [
  [32, 3],
  'M',
  [64, 3],
  'M',
  [128, 3],
  [64, 1],
  [128, 3],
  'M',
  [256, 3],
  [128, 1],
  [256, 3],
  'M',
  [512, 3],
  [256, 1],
  [512, 3],
  [256, 1],
  [512, 3], // layer 16: the passthrough source
  'M',
  [1024, 3],
  [512, 1],
  [1024, 3],
  [512, 1],
  [1024, 3],
  [1024, 3],
  [1024, 3],
];
const PASSTHROUGH_LAYER = 16;

/** darknet's [convolutional] with batch_normalize=1, pad=1, activation=leaky (slope 0.1). */
function darknetConv(b: GraphBuilder, layer: number, x: string, cin: number, filters: number, size: number): string {
  const y = conv(b, `layer${layer}.conv`, x, cin, filters, { kernel: size, pad: Math.floor(size / 2) });
  return b.op('LeakyRelu', [batchNorm(b, `layer${layer}.bn`, y, filters, 1e-5)], { alpha: 0.1 }, `layer${layer}.leaky`);
}

export function buildYoloV2(batch: number): Graph {
  const b = new GraphBuilder('yolov2');
  let x = b.input('input', 'float32', [batch, 3, INPUT, INPUT]);
  let channels = 3;
  let passthrough = { tensor: '', channels: 0 };
  BACKBONE.forEach((layer, i) => {
    if (layer === 'M') {
      x = maxPool(b, `layer${i}.maxpool`, x, { kernel: 2, stride: 2 });
    } else {
      x = darknetConv(b, i, x, channels, layer[0], layer[1]);
      channels = layer[0];
    }
    if (i === PASSTHROUGH_LAYER) passthrough = { tensor: x, channels };
  });
  // Layers 25–28: route to layer 16, 1×1 conv to 64, reorg (stride 2, as SpaceToDepth), route [27, 24].
  let fine = darknetConv(b, 26, passthrough.tensor, passthrough.channels, 64, 1);
  fine = b.op('SpaceToDepth', [fine], { blocksize: 2 }, 'layer27.reorg');
  x = b.op('Concat', [fine, x], { axis: 1 }, 'layer28.route');
  x = darknetConv(b, 29, x, 64 * 4 + channels, 1024, 3);
  const head = conv(b, 'layer30.conv', x, 1024, OUTPUT_CHANNELS, { kernel: 1, bias: true });
  const grid = INPUT / 32;
  b.output(head, 'float32', [batch, OUTPUT_CHANNELS, grid, grid]);
  return b.build();
}

export const yolov2 = cnnEntry(
  {
    name: 'yolov2',
    title: 'YOLOv2 608×608',
    source: 'darknet cfg/yolov2.cfg (COCO, 608×608; region layer left to post-processing)',
    publishedParams: 50_962_889,
    image: [3, INPUT, INPUT],
  },
  buildYoloV2,
);
