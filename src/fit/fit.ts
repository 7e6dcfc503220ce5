import { presetDevice } from '../cluster/presets.ts';
import type { Device } from '../cluster/types.ts';
import { fail } from '../errors.ts';
import type { Model } from '../ir/graph.ts';
import { memoryGraphOf, weightBytesOf } from '../memory/graph.ts';
import { modelFingerprint } from '../model/fingerprint.ts';
import { btsearch } from '../ordering/btsearch.ts';
import { partitionContext, type PartitionContext } from '../partition/context.ts';
import { fitLatency, type FitLatency } from './latency.ts';
import { fitMemory, planMemory, type FitMemory } from './memory.ts';
import { DEFAULT_SPACE, paretoFront, type CostedSegment, type FitSpace, type FrontPoint } from './search.ts';
import { kvFirstOrder } from './space.ts';
import type { HaloMode } from './tiles.ts';

export interface FitOptions {
  /** The device's memory limit in bytes: activations, plus the weights with includeWeights. */
  limitBytes: number;
  /** Default: a Raspberry-Pi-4-class device (the `pi` preset class). */
  device?: Device;
  includeWeights?: boolean;
  inplace?: boolean;
  space?: FitSpace;
  /** BTSearch's budget for the order (default 60 s). */
  orderTimeLimitMs?: number;
}

/** A fused group of a fit execution, as printed (docs/fit.md). */
export interface FitGroup {
  /** First and last operator of the group (names) and their positions in the order. */
  first: string;
  last: string;
  firstPosition: number;
  lastPosition: number;
  operators: number;
  /** `spatial`: a rows × cols grid of NCHW tiles; `tokens`: `rows` token chunks (cols 1). */
  kind: 'spatial' | 'tokens';
  rows: number;
  cols: number;
  /** How its halos are had (docs/fit.md, "Halos"): recomputed by every tile, or cached down each grid column. */
  halo: HaloMode;
  /** Tiles that compute something (every tile of the grid unless a region is empty). */
  tiles: number;
  peakBytes: number;
  latencyMs: number;
  overheadFlops: number;
}

/** The orders a fit searches (docs/fit.md, "Execution space"): BTSearch's, and for sequence models its kv-first variant. */
export type FitOrderName = 'btsearch' | 'kv-first';

export interface FitExecution {
  /** Which order the execution runs, its operator names and partition context (what runFit executes the segments with). */
  orderName: FitOrderName;
  order: string[];
  context: PartitionContext;
  memory: FitMemory;
  /** Peak under the memory model: activations, plus the weights with includeWeights. */
  peakBytes: number;
  latencyMs: number;
  /** Halo FLOPs recomputed over all groups. */
  overheadFlops: number;
  groups: FitGroup[];
  segments: CostedSegment[];
}

export interface FitResult {
  model: string;
  fingerprint: string;
  device: string;
  limitBytes: number;
  includeWeights: boolean;
  /** Element-wise operators reused a dying input of their size (docs/memory.md). */
  inplace: boolean;
  weightBytes: number;
  /** True when some execution of the space has peakBytes ≤ limitBytes. */
  feasible: boolean;
  /** The fastest execution within the limit; null when none is. */
  best: FitExecution | null;
  /** The execution with the least peak in the space (the first point of the front). */
  leastPeak: FitExecution;
  /** BTSearch's order run layer by layer: its peak (the BTSearch optimum when proven) and latency. */
  baselinePeakBytes: number;
  baselineLatencyMs: number;
  baselineOptimal: boolean;
  /** Pareto front of peak against latency over both orders, by increasing peak. */
  front: FitExecution[];
  /** BTSearch's order and its partition context (an execution names its own: FitExecution.order, .context). */
  order: string[];
  context: PartitionContext;
  /** The halo modes searched (FitSpace.halo): `recompute` only, or `cache` (each group recomputes or caches). */
  halo: HaloMode;
  space: FitSpace & { maxChunks: number; operators: number; tileable: number; segmentsEvaluated: number; orders: FitOrderName[] };
  searchMs: number;
}

/** The model's BTSearch order, its context and the pieces the fit search needs. */
export function fitContext(model: Model, options: { inplace?: boolean; orderTimeLimitMs?: number } = {}) {
  const inplace = options.inplace ?? true;
  const graph = memoryGraphOf(model);
  const search = btsearch(graph, { inplace, timeLimitMs: options.orderTimeLimitMs ?? 60_000 });
  const ctx: PartitionContext = partitionContext(
    model,
    search.order.map((i) => graph.ops[i]!.name),
  );
  return { ctx, search, memory: fitMemory(ctx, inplace) };
}

/**
 * `memorianova fit` (docs/fit.md): the fastest execution of the model on one device whose peak memory stays within
 * the limit, over the BTSearch order with fused tile groups (each with its own grid) and the rest layer by layer; the
 * search is exact over the bounded space (search.ts).
 */
export function fitModel(model: Model, options: FitOptions): FitResult {
  if (!(options.limitBytes >= 1)) fail(`the memory limit must be at least 1 byte, got ${options.limitBytes}`, 'usage');
  const device = options.device ?? presetDevice('pi')!;
  const includeWeights = options.includeWeights ?? false;
  const space = options.space ?? DEFAULT_SPACE;
  const fingerprint = modelFingerprint(model);
  const { ctx, search, memory } = fitContext(model, options);
  const latency = fitLatency(ctx, device, fingerprint);
  const weightBytes = weightBytesOf(model);
  const constant = includeWeights ? weightBytes : 0;
  const orders: Array<{ name: FitOrderName; ctx: PartitionContext; memory: FitMemory; latency: FitLatency }> = [
    { name: 'btsearch', ctx, memory, latency },
  ];
  const kvFirst = ctx.layout.kind === 'cnn' ? null : kvFirstOrder(ctx);
  if (kvFirst !== null) {
    const other = partitionContext(model, kvFirst);
    orders.push({
      name: 'kv-first',
      ctx: other,
      memory: fitMemory(other, options.inplace ?? true),
      latency: fitLatency(other, device, fingerprint),
    });
  }
  const start = performance.now();
  const results = orders.map((o) => paretoFront(o.memory, o.latency, space));
  const searchMs = performance.now() - start;
  const execution = (o: (typeof orders)[number], point: FrontPoint): FitExecution => ({
    orderName: o.name,
    order: o.ctx.order,
    context: o.ctx,
    memory: o.memory,
    peakBytes: point.peakBytes + constant,
    latencyMs: point.latencyMs,
    overheadFlops: point.segments.reduce((s, seg) => s + seg.overheadFlops, 0),
    groups: point.segments
      .filter((seg) => seg.grid !== null)
      .map((seg) => ({
        first: o.ctx.order[seg.first]!,
        last: o.ctx.order[seg.last]!,
        firstPosition: seg.first,
        lastPosition: seg.last,
        operators: seg.last - seg.first + 1,
        kind: seg.grid!.kind ?? 'spatial',
        rows: seg.grid!.rows,
        cols: seg.grid!.cols,
        halo: seg.segment.tiling?.halo ?? 'recompute',
        tiles: seg.tiles,
        peakBytes: seg.peakBytes + constant,
        latencyMs: seg.latencyMs,
        overheadFlops: seg.overheadFlops,
      })),
    segments: point.segments,
  });
  // The union of the orders' fronts, pruned as the search prunes (search.ts): BTSearch's order first on a tie.
  const all = orders.flatMap((o, i) => results[i]!.front.map((point) => execution(o, point)));
  all.sort((x, y) => x.peakBytes - y.peakBytes || x.latencyMs - y.latencyMs);
  const front: FitExecution[] = [];
  for (const e of all) if (front.length === 0 || e.latencyMs < front[front.length - 1]!.latencyMs * (1 - 1e-12)) front.push(e);
  const within = front.filter((e) => e.peakBytes <= options.limitBytes);
  const best = within.length === 0 ? null : within[within.length - 1]!;
  // The search adds piece peaks; the whole tiled graph under the memory model must agree.
  for (const e of best === null ? [front[0]!] : [best, front[0]!]) {
    const whole = planMemory(
      e.memory,
      e.segments.map((s) => s.segment),
      includeWeights,
      weightBytes,
    ).peakBytes;
    if (whole !== e.peakBytes) throw new Error(`fit: the plan's peak ${whole} B differs from the search's ${e.peakBytes} B`);
  }
  const untiledMs = latency.opMs.reduce((s, ms) => s + ms, 0);
  return {
    model: model.name,
    fingerprint,
    device: device.name,
    limitBytes: options.limitBytes,
    includeWeights,
    inplace: options.inplace ?? true,
    weightBytes,
    feasible: best !== null,
    best,
    leastPeak: front[0]!,
    baselinePeakBytes: memory.untiled.peakBytes + constant,
    baselineLatencyMs: untiledMs,
    baselineOptimal: search.optimal,
    front,
    halo: space.halo ?? 'recompute',
    order: ctx.order,
    context: ctx,
    space: {
      ...space,
      maxChunks: space.maxChunks ?? DEFAULT_SPACE.maxChunks,
      operators: ctx.order.length,
      tileable: results[0]!.tileable,
      segmentsEvaluated: results.reduce((n, r) => n + r.segmentsEvaluated, 0),
      orders: orders.map((o) => o.name),
    },
    searchMs,
  };
}
