import { Attrs } from '../analysis/ops/attrs.ts';
import type { Cluster } from '../cluster/types.ts';
import type { Node } from '../ir/graph.ts';
import { boxVolume, fullBox } from '../partition/box.ts';
import type { PartitionContext } from '../partition/context.ts';
import { transmitMs } from './latency.ts';
import type { LowerBound } from './types.ts';

/**
 * A latency no plan can beat (docs/latency.md, "Lower bound"), from the whole-operator time table
 * opMs[device][model op index]. With R_d device d's best rate over all operators (FLOPs/ms), δ_d its per-hop delay
 * and δ_r the router's:
 * - computeMs: the least T with Σ_d R_d · max(0, T − a_d) ≥ the FLOPs of the operators that depend on a graph
 *   input, a_d = δ_r + δ_d being the earliest time device d can hold anything derived from the input (and
 *   T ≥ all FLOPs / Σ_d R_d);
 * - criticalPathMs: the longest dependency path, an operator weighing FLOPs / Σ_d R_d if it can be split and its
 *   fastest whole time if it cannot; ioMs = δ_r + 2 · min_d δ_d (one forward and download before it, one upload after);
 * - outputMs: the bytes of the graph outputs must cross the devices' uplinks after the earliest input arrival:
 *   δ_r + 2 · min_d δ_d + bytes × 8 / (capacity × 1000), capacity = Σ_d uplinkMbps (switched) or max_d uplinkMbps
 *   (shared: the uploads take turns on one channel);
 * - inputMs: the elements of a graph input that some operator, computed whole, reads without gaps must be
 *   downloaded over the devices' downlinks: δ_r + their bytes over the downlinks' capacity (Σ_d downlinkMbps
 *   switched, max_d shared) + min_d δ_d; on a shared medium the output's uploads take the same channel, so their
 *   airtime is added (0 without such inputs).
 */
export function lowerBound(ctx: PartitionContext, cluster: Cluster, opMs: readonly number[][]): LowerBound {
  const ops = ctx.model.ops;
  const devices = cluster.devices;
  const rates = devices.map((_, d) => {
    let best = 0;
    ops.forEach((op, i) => {
      const t = opMs[d]![i]!;
      if (op.cost.flops > 0 && t > 0) best = Math.max(best, op.cost.flops / t);
    });
    return best;
  });
  const pooledRate = rates.reduce((a, b) => a + b, 0);
  // Operators that read a graph input, directly or through others: none of them can start before the input arrives.
  const dependent: boolean[] = new Array(ctx.order.length).fill(false);
  for (const uses of ctx.graphInputUses.values()) for (const use of uses) dependent[use.position] = true;
  ctx.producers.forEach((inputs, p) => {
    for (const source of inputs) if (source !== null && dependent[source.position]) dependent[p] = true;
  });
  let totalFlops = 0;
  let dependentFlops = 0;
  let outputBytes = 0;
  ctx.opIndex.forEach((index, p) => {
    const op = ops[index]!;
    totalFlops += op.cost.flops;
    if (!dependent[p]) return;
    dependentFlops += op.cost.flops;
    ctx.isGraphOutput[p]!.forEach((isOutput, k) => {
      if (!isOutput) return;
      const tensor = op.node.outputs[k]!;
      const shape = ctx.model.tensors.get(tensor)!.shape;
      outputBytes += shape.reduce((a, b) => a * b, 1) * ctx.elementBytes.get(tensor)!;
    });
  });
  const delayR = cluster.router.latencyMs;
  const hop = Math.min(...devices.map((d) => d.latencyMs));
  const ioMs = delayR + 2 * hop;
  const computeMs =
    pooledRate > 0
      ? Math.max(
          totalFlops / pooledRate,
          waterLevel(
            devices.map((d, i) => ({ start: delayR + d.latencyMs, rate: rates[i]! })),
            dependentFlops,
          ),
        )
      : 0;
  const finish: number[] = new Array(ctx.order.length).fill(0);
  let criticalPathMs = 0;
  ctx.opIndex.forEach((index, p) => {
    const splittable = ctx.space[p]!.options.length > 0;
    const weight = splittable
      ? pooledRate > 0
        ? ops[index]!.cost.flops / pooledRate
        : 0
      : Math.min(...devices.map((_, d) => opMs[d]![index]!));
    let start = 0;
    for (const source of ctx.producers[p]!) if (source !== null) start = Math.max(start, finish[source.position]!);
    finish[p] = start + weight;
    criticalPathMs = Math.max(criticalPathMs, finish[p]!);
  });
  const ups = devices.map((d) => d.uplinkMbps);
  const capacity = cluster.medium === 'shared' ? Math.max(...ups) : ups.reduce((a, b) => a + b, 0);
  const outputMs = outputBytes > 0 ? ioMs + transmitMs(outputBytes, capacity) : 0;
  let inputBytes = 0;
  for (const [tensor, uses] of ctx.graphInputUses) {
    const elements = Math.max(0, ...uses.map((use) => elementsCertainlyRead(ctx, use.position, tensor)));
    inputBytes += elements * ctx.elementBytes.get(tensor)!;
  }
  const downs = devices.map((d) => d.downlinkMbps);
  const shared = cluster.medium === 'shared';
  const inputMs =
    inputBytes > 0
      ? delayR +
        transmitMs(inputBytes, shared ? Math.max(...downs) : downs.reduce((a, b) => a + b, 0)) +
        (shared && outputBytes > 0 ? transmitMs(outputBytes, capacity) : 0) +
        hop
      : 0;
  return { computeMs, criticalPathMs, ioMs, outputMs, inputMs };
}

/** The least T with Σ rate · max(0, T − start) ≥ work (water filling, devices joining in order of start). */
function waterLevel(devices: Array<{ start: number; rate: number }>, work: number): number {
  const sorted = devices.filter((d) => d.rate > 0).sort((a, b) => a.start - b.start);
  if (sorted.length === 0 || work <= 0) return 0;
  let rate = 0;
  let weighted = 0; // Σ rate · start over the devices working
  for (let i = 0; i < sorted.length; i++) {
    rate += sorted[i]!.rate;
    weighted += sorted[i]!.rate * sorted[i]!.start;
    const level = (work + weighted) / rate;
    if (i === sorted.length - 1 || level <= sorted[i + 1]!.start) return level;
  }
  return 0;
}

export function lowerBoundMs(bound: LowerBound): number {
  return Math.max(bound.computeMs, bound.ioMs + bound.criticalPathMs, bound.outputMs, bound.inputMs);
}

/** Operators that read every element of every input region their geometry names (no gaps inside a region). */
const DENSE_READERS = new Set([
  'Add',
  'Sub',
  'Mul',
  'Div',
  'Pow',
  'Relu',
  'LeakyRelu',
  'Sigmoid',
  'Tanh',
  'Erf',
  'Exp',
  'Sqrt',
  'Neg',
  'Abs',
  'Clip',
  'BatchNormalization',
  'LayerNormalization',
  'Softmax',
  'MatMul',
  'Gemm',
  'Transpose',
  'Reshape',
  'Flatten',
  'Identity',
  'Cast',
  'Concat',
]);

/**
 * How many elements of graph input `tensor` the operator at `position`, computed whole, certainly reads: the volume of
 * the region its geometry needs for its whole output (geometry clips it to the tensor, padding excluded), when it
 * reads that region without gaps (an element-wise or dense operator; a convolution or pooling window with dilation 1
 * and stride ≤ kernel; Gather's indices), else 0. Gather's data, Slice, strided 1×1 convolutions and the like may
 * skip elements, so they count 0.
 */
function elementsCertainlyRead(ctx: PartitionContext, position: number, tensor: string): number {
  const node = ctx.model.ops[ctx.opIndex[position]!]!.node;
  const geometry = ctx.geometry[position]!;
  const needed = geometry.inputs(geometry.outputShapes.map((shape) => fullBox(shape))).inputs;
  let elements = 0;
  node.inputs.forEach((name, i) => {
    const region = needed[i];
    if (name !== tensor || geometry.inputShapes[i] == null || region == null || !readsWithoutGaps(node, geometry.inputShapes, i)) return;
    elements = Math.max(elements, boxVolume(region));
  });
  return elements;
}

function readsWithoutGaps(node: Node, inputShapes: ReadonlyArray<number[] | null>, i: number): boolean {
  if (node.opType === 'Gather') return i === 1;
  if (node.opType === 'Conv' || node.opType === 'MaxPool' || node.opType === 'AveragePool') {
    if (i !== 0) return false;
    const attrs = new Attrs(node);
    const kernel = node.opType === 'Conv' ? inputShapes[1]!.slice(2) : attrs.ints('kernel_shape')!;
    const strides = attrs.ints('strides') ?? kernel.map(() => 1);
    const dilations = attrs.ints('dilations') ?? kernel.map(() => 1);
    return kernel.every((k, a) => dilations[a] === 1 && strides[a]! <= k);
  }
  return DENSE_READERS.has(node.opType);
}
