import { analyzeGraph } from '../analysis/analyze.ts';
import type { Cluster, Device } from '../cluster/types.ts';
import { GraphBuilder } from '../ir/builder.ts';
import type { Model } from '../ir/graph.ts';

/** A chain of `layers` 3×3 convolutions (padding 1) on x[1, channels, size, size]: the hand-checkable test model. */
export function convChain(layers: number, channels = 8, size = 16): Model {
  const b = new GraphBuilder('chain');
  let x = b.input('x', 'float32', [1, channels, size, size]);
  for (let i = 1; i <= layers; i++) {
    x = b.op('Conv', [x, b.weight(`w${i}`, [channels, channels, 3, 3])], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, `conv${i}`);
  }
  b.output(x);
  return analyzeGraph(b.build());
}

export function testDevice(name: string, overrides: Partial<Device> = {}): Device {
  return { name, gflops: 1, memoryMB: 64, uplinkMbps: 1000, downlinkMbps: 1000, latencyMs: 0, ...overrides };
}

export function testCluster(devices: Device[]): Cluster {
  return { name: 'test', devices, router: { name: 'router', latencyMs: 0, broadcast: true } };
}

export const orderOf = (model: Model): string[] => model.ops.map((op) => op.node.name);

/** `blocks` residual blocks (conv–relu–conv, + input, relu) on x[1, 4, 8, 8]; with a mask read by every block. */
export function residualStack(blocks: number, mask: boolean): Model {
  const b = new GraphBuilder('residual');
  let x = b.input('x', 'float32', [1, 4, 8, 8]);
  const m = mask ? b.op('Sigmoid', [b.input('m', 'float32', [1, 4, 8, 8])], {}, 'mask') : undefined;
  const conv = (input: string, name: string) =>
    b.op('Conv', [input, b.weight(`${name}.w`, [4, 4, 3, 3])], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, name);
  for (let i = 0; i < blocks; i++) {
    let y = conv(b.op('Relu', [conv(x, `b${i}.conv1`)], {}, `b${i}.relu1`), `b${i}.conv2`);
    if (m !== undefined) y = b.op('Mul', [y, m], {}, `b${i}.mask`);
    x = b.op('Relu', [b.op('Add', [y, x], {}, `b${i}.add`)], {}, `b${i}.relu`);
  }
  b.output(x);
  return analyzeGraph(b.build());
}
