import { Attrs } from '../analysis/ops/attrs.ts';
import { deviceKinds } from '../cluster/kinds.ts';
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
 *   input, a_d = δ_r + δ_d being the earliest time device d can hold anything derived from the input, and at
 *   least the busiest device's compute under the best fractional split of the whole-operator times
 *   (`assignmentBound`, ≥ all FLOPs / Σ_d R_d; the input-dependent part after min_d a_d);
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
  let dependentFlops = 0;
  let outputBytes = 0;
  ctx.opIndex.forEach((index, p) => {
    const op = ops[index]!;
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
  // Alike devices enter the fractional split as one kind of m devices, its times divided by m: the same LP, m times smaller.
  const kinds = deviceKinds(devices);
  const kindRates = kinds.map((k) => rates[k.first]! * k.count);
  const times = (keep: (p: number) => boolean) =>
    ctx.opIndex.flatMap((index, p) => (keep(p) ? [kinds.map((k) => opMs[k.first]![index]! / k.count)] : []));
  const everyDependent = dependent.every(Boolean);
  const split = assignmentBound(
    times(() => true),
    kindRates,
  );
  const dependentSplit = everyDependent
    ? split
    : assignmentBound(
        times((p) => dependent[p]!),
        kindRates,
      );
  const earliest = Math.min(...devices.map((d) => delayR + d.latencyMs));
  // Σ FLOPs / Σ best rates needs no term of its own: the split's start from the best rates is never below it.
  const computeMs = Math.max(
    pooledRate > 0
      ? waterLevel(
          devices.map((d, i) => ({ start: delayR + d.latencyMs, rate: rates[i]! })),
          dependentFlops,
        )
      : 0,
    everyDependent ? 0 : split,
    earliest + dependentSplit,
  );
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

/**
 * A lower bound on the busiest device's compute for any split of the operators over the devices: with t(i, d) the
 * whole time of operator i on device d (`times[i][d]`) and x(i, d) ≥ 0 the share of i's output device d computes
 * (Σ_d x(i, d) ≥ 1, a slice taking its share of the whole time), every λ on the simplex gives
 * max_d Σ_i x(i, d) · t(i, d) ≥ Σ_d λ_d Σ_i x(i, d) · t(i, d) ≥ Σ_i min_d λ_d · t(i, d) (weak duality of the
 * fractional makespan LP). λ starts from the devices' speeds (∝ 1 / their whole-model time) and from their best
 * rates `rates` (where the bound is at least Σ FLOPs / Σ rates), and moves by multiplicative steps towards the
 * devices the minimum picks most; the best value seen is returned. A column may stand for a kind of m alike devices,
 * with their times divided by m and their rate multiplied by m: the same bound as the m columns.
 */
export function assignmentBound(times: readonly (readonly number[])[], rates: readonly number[]): number {
  const count = rates.length;
  if (times.length === 0 || count === 0) return 0;
  const value = (lambda: readonly number[], load?: number[]) => {
    let sum = 0;
    for (const t of times) {
      let best = Infinity;
      let at = 0;
      for (let d = 0; d < count; d++) {
        const v = lambda[d]! * t[d]!;
        if (v < best) [best, at] = [v, d];
      }
      sum += best;
      if (load !== undefined) load[at]! += t[at]!;
    }
    return sum;
  };
  const normalise = (weights: number[]) => {
    const total = weights.reduce((a, b) => a + b, 0);
    return total > 0 && Number.isFinite(total) ? weights.map((w) => w / total) : null;
  };
  const whole = Array.from({ length: count }, (_, d) => times.reduce((sum, t) => sum + t[d]!, 0));
  const starts = [normalise(whole.map((w) => (w > 0 ? 1 / w : 0))), normalise([...rates])].filter((l) => l !== null);
  let best = 0;
  for (const start of starts) {
    let lambda = start;
    for (let step = 0; step < 40; step++) {
      const load = new Array<number>(count).fill(0);
      best = Math.max(best, value(lambda, load));
      const mean = load.reduce((a, b) => a + b, 0) / count;
      if (!(mean > 0)) break;
      const rate = 0.5 / (1 + step / 4);
      const next = normalise(lambda.map((l, d) => l * Math.exp((rate * (load[d]! - mean)) / mean)));
      if (next === null) break;
      lambda = next;
    }
  }
  return best;
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
