import { GraphBuilder } from '../ir/builder.ts';
import type { Graph } from '../ir/graph.ts';
import { batchNorm, classifierOutput, conv, gemm, poolAndFlatten, relu } from './layers.ts';
import { mulberry32 } from '../random.ts';

/**
 * A Watts–Strogatz small-world graph (networkx's `watts_strogatz_graph`): a ring where every node links to
 * its k/2 nearest neighbours on each side, then each edge (u, u+j) is rewired with probability p to a
 * uniformly chosen node that is neither u nor already a neighbour. Returns undirected edges [a, b], a < b.
 */
export function wattsStrogatz(n: number, k: number, p: number, seed: number): [number, number][] {
  const random = mulberry32(seed);
  const adjacent = Array.from({ length: n }, () => new Set<number>());
  const link = (a: number, b: number) => (adjacent[a]!.add(b), adjacent[b]!.add(a));
  for (let j = 1; j <= k / 2; j++) for (let u = 0; u < n; u++) link(u, (u + j) % n);
  for (let j = 1; j <= k / 2; j++) {
    for (let u = 0; u < n; u++) {
      const v = (u + j) % n;
      if (random() >= p || !adjacent[u]!.has(v)) continue;
      const candidates = [...Array(n).keys()].filter((w) => w !== u && !adjacent[u]!.has(w));
      if (candidates.length === 0) continue;
      const w = candidates[Math.floor(random() * candidates.length)]!;
      adjacent[u]!.delete(v);
      adjacent[v]!.delete(u);
      link(u, w);
    }
  }
  const edges: [number, number][] = [];
  adjacent.forEach((set, a) => set.forEach((b) => a < b && edges.push([a, b])));
  return edges;
}

export interface RandWireOptions {
  /** Nodes per stage (32 in the small regime). */
  nodes?: number;
  k?: number;
  p?: number;
  seed?: number;
  /** Channels of the first random stage (78 in the small regime); each later stage doubles them. */
  channels?: number;
  stages?: number;
  resolution?: number;
  /** Only the random stages: the input is the stage-1 input (C × resolution/4²), the output the last stage's. */
  stagesOnly?: boolean;
}

/**
 * RandWire-WS (Xie et al. 2019, small regime) as an inference graph: conv1 (3×3, s2, C/2), conv2 (3×3, s2, C),
 * then `stages` random stages, each a Watts–Strogatz graph made acyclic by orienting edges from the lower to
 * the higher node index. A node sums its inputs (Sum), then ReLU → separable conv (depthwise 3×3 + pointwise
 * 1×1) → BN; nodes without predecessors read the stage input with stride 2, nodes without successors are
 * summed into the stage output. Classifier: 1×1 conv to 1280, global pooling, fully connected to 1000.
 */
export function randWireGraph(options: RandWireOptions = {}): Graph {
  const n = options.nodes ?? 32;
  const k = options.k ?? 4;
  const p = options.p ?? 0.75;
  const seed = options.seed ?? 1;
  const channels = options.channels ?? 78;
  const stages = options.stages ?? 3;
  const resolution = options.resolution ?? 224;
  const b = new GraphBuilder(`randwire-ws-${n}-${k}-${p}`, { seed });
  const stagesOnly = options.stagesOnly ?? false;
  let x = stagesOnly
    ? b.input('input', 'float32', [1, channels, resolution / 4, resolution / 4])
    : b.input('input', 'float32', [1, 3, resolution, resolution]);
  if (!stagesOnly) {
    x = relu(
      b,
      'conv1.relu',
      batchNorm(b, 'conv1.bn', conv(b, 'conv1', x, 3, channels / 2, { kernel: 3, stride: 2, pad: 1 }), channels / 2, 1e-5),
    );
    x = batchNorm(
      b,
      'conv2.bn',
      conv(b, 'conv2', relu(b, 'conv2.relu', x), channels / 2, channels, { kernel: 3, stride: 2, pad: 1 }),
      channels,
      1e-5,
    );
  }
  let inChannels = channels;
  for (let s = 0; s < stages; s++) {
    const outChannels = channels * 2 ** s;
    const edges = wattsStrogatz(n, k, p, seed * 1000 + s);
    const predecessors = Array.from({ length: n }, () => [] as number[]);
    const hasSuccessor = new Array<boolean>(n).fill(false);
    for (const [a, c] of edges) {
      predecessors[c]!.push(a);
      hasSuccessor[a] = true;
    }
    const outputs: string[] = [];
    for (let v = 0; v < n; v++) {
      const name = `stage${s + 1}.node${v}`;
      const sources = predecessors[v]!.map((u) => outputs[u]!);
      const first = sources.length === 0;
      const aggregated = first ? x : sources.length === 1 ? sources[0]! : b.op('Sum', sources, {}, `${name}.sum`);
      const width = first ? inChannels : outChannels;
      const activated = relu(b, `${name}.relu`, aggregated);
      const depthwise = conv(b, `${name}.dw`, activated, width, width, { kernel: 3, stride: first ? 2 : 1, pad: 1, groups: width });
      const pointwise = conv(b, `${name}.pw`, depthwise, width, outChannels, { kernel: 1 });
      outputs.push(batchNorm(b, `${name}.bn`, pointwise, outChannels, 1e-5));
    }
    const sinks = outputs.filter((_, v) => !hasSuccessor[v]);
    x = sinks.length === 1 ? sinks[0]! : b.op('Sum', sinks, {}, `stage${s + 1}.output`);
    inChannels = outChannels;
  }
  if (stagesOnly) {
    b.output(x);
    return b.build();
  }
  x = relu(b, 'head.relu', batchNorm(b, 'head.bn', conv(b, 'head.conv', x, inChannels, 1280, { kernel: 1 }), 1280, 1e-5));
  classifierOutput(b, gemm(b, 'fc', poolAndFlatten(b, x), 1280, 1000), 1, 1000);
  return b.build();
}
