import { boxVolume } from '../partition/box.ts';
import { sliceMs } from '../simulate/latency.ts';
import { copyMs, groupCost, type FitLatency } from './latency.ts';
import { groupPeakByTiles, type FitMemory, type Segment } from './memory.ts';
import { chunkSet, gridSet, tileablePositions } from './space.ts';
import { exitsOf, gridLimit, sliceShare, tileGroupWith, viewsFit, type Grid, type HaloMode } from './tiles.ts';

/** The bounded execution space the search covers exactly (docs/fit.md, "Search"). */
export interface FitSpace {
  /** Each group's grid: rows and cols from 1 to maxGrid. */
  maxGrid: number;
  /** At most this many consecutive operators of the order in one group. */
  maxDepth: number;
  /** Token chunk groups of sequence models: 2 to maxChunks chunks (default DEFAULT_SPACE.maxChunks). */
  maxChunks?: number;
  /**
   * `recompute` (default): every group recomputes its halos. `cache`: a spatial group of several tile rows may also
   * cache them (docs/fit.md, "Halos"), each group the better of the two as the search finds.
   */
  halo?: HaloMode;
}

export const DEFAULT_SPACE: FitSpace & { maxChunks: number } = { maxGrid: 8, maxDepth: 12, maxChunks: 64 };

/** The grids of the space for the model's layout: spatial grids for CNNs, token chunks for sequence models. */
export function spaceGrids(fm: FitMemory, space: FitSpace): Grid[] {
  return fm.ctx.layout.kind === 'cnn' ? gridSet(space.maxGrid) : chunkSet(space.maxChunks ?? DEFAULT_SPACE.maxChunks);
}

/** One piece of an execution with its cost: a position run whole, or a group run tile by tile. */
export interface CostedSegment {
  segment: Segment;
  first: number;
  last: number;
  /** null: run whole, layer by layer. */
  grid: Grid | null;
  /** Peak live activation bytes while the piece runs (weights excluded). */
  peakBytes: number;
  latencyMs: number;
  overheadFlops: number;
  tiles: number;
}

/** A Pareto-optimal execution: no other execution in the space has both a lower-or-equal peak and latency. */
export interface FrontPoint {
  /** Activations only; with the initial state (the graph inputs) included. */
  peakBytes: number;
  latencyMs: number;
  segments: CostedSegment[];
}

export interface FrontResult {
  /** By increasing peak (and so decreasing latency). */
  front: FrontPoint[];
  /** Pieces whose cost was evaluated (untiled positions and every group × grid in the space). */
  segmentsEvaluated: number;
  /** Positions of the order that may join a group. */
  tileable: number;
}

interface Entry {
  peak: number;
  latency: number;
  segment: CostedSegment | null;
  prev: Entry | null;
}

/** Keeps the entries no other entry dominates (peak ≤ and latency ≤, one of them <), by increasing peak. */
function prune(entries: Entry[]): Entry[] {
  entries.sort((x, y) => x.peak - y.peak || x.latency - y.latency);
  const kept: Entry[] = [];
  // Latencies equal to rounding (sums of the same slice times in another order) are one latency: the lower peak stays.
  for (const e of entries) if (kept.length === 0 || e.latency < kept[kept.length - 1]!.latency * (1 - 1e-12)) kept.push(e);
  return kept;
}

/**
 * Every piece that can end at position `last`: the position run whole, and each group [first, last] of tileable
 * positions (at most maxDepth of them) with each grid of the space that its exits allow.
 */
export function segmentsEndingAt(
  fm: FitMemory,
  fl: FitLatency,
  tileable: readonly boolean[],
  last: number,
  space: FitSpace,
): CostedSegment[] {
  const out: CostedSegment[] = [
    {
      segment: { first: last, tiling: null },
      first: last,
      last,
      grid: null,
      peakBytes: fm.untiled.stepBytes[last]!,
      latencyMs: fl.opMs[last]!,
      overheadFlops: 0,
      tiles: 1,
    },
  ];
  if (!tileable[last]) return out;
  let lowest = last;
  while (lowest > 0 && tileable[lowest - 1] && last - lowest + 2 <= space.maxDepth) lowest--;
  const exits = exitsOf(fm.ctx, lowest, last);
  for (const grid of spaceGrids(fm, space)) {
    let low = last + 1;
    while (low > lowest) {
      const limit = gridLimit(fm.ctx, exits, low - 1, grid.kind);
      if (grid.rows > limit.rows || grid.cols > limit.cols) break;
      low--;
    }
    if (low > last) continue;
    const modes: HaloMode[] = space.halo === 'cache' && grid.kind !== 'tokens' && grid.rows > 1 ? ['recompute', 'cache'] : ['recompute'];
    for (const halo of modes) {
      const tiling = tileGroupWith(fm.ctx, low, last, grid, halo);
      // Growing the group downwards adds one slice per tile: sums and size keys are extended, not recomputed.
      const keys = tiling.tiles.map(() => '');
      const split = tiling.tiles.length > 1 ? (grid.kind === 'tokens' ? 'tokens' : 'rows') : null;
      const views = grid.kind === 'tokens';
      let sumMs = 0;
      let copiedBytes = 0;
      let flops = 0;
      let own = 0;
      // A cached tiling caching nothing from `first` on is the recomputing one: not evaluated twice.
      let caches = false;
      for (let first = last; first >= low; first--) {
        own += fm.ctx.model.ops[fm.ctx.opIndex[first]!]!.cost.flops;
        tiling.tiles.forEach((tile, t) => {
          const i = first - tiling.lowest;
          const cached = tile.cached?.[i] ?? null;
          const kept = tile.kept?.[i] ?? null;
          if (cached !== null) caches = true;
          const bytes = fm.ctx.elementBytes.get(fm.ctx.model.ops[fm.ctx.opIndex[first]!]!.node.outputs[0]!)!;
          if (cached !== null)
            copiedBytes += (boxVolume(cached) + (tile.slices[i] == null ? 0 : boxVolume(tile.slices[i]!.outputs[0]!))) * bytes;
          if (kept !== null) copiedBytes += boxVolume(kept) * bytes;
          const extra = halo === 'cache' ? `/${cached === null ? 0 : boxVolume(cached)}/${kept === null ? 0 : boxVolume(kept)}` : '';
          const slice = tile.slices[i];
          if (slice == null) {
            keys[t] = `-${extra},${keys[t]}`;
            return;
          }
          sumMs += sliceMs(fl.opMs[first]!, sliceShare(fm.ctx, first, slice), fl.overheads, split);
          flops += slice.flops;
          keys[t] = `${boxVolume(slice.outputs[0]!)}${extra},${keys[t]}`;
        });
        if (views && !viewsFit(fm.ctx, tiling.exits, first, last)) continue;
        if (halo === 'cache' && !caches) continue;
        const cost =
          fl.overheads === null
            ? { latencyMs: sumMs + copyMs(fl.device, null, copiedBytes), overheadFlops: flops - own, tiles: tiling.tiles.length }
            : groupCost(fl, tiling, first);
        out.push({
          segment: { first, tiling },
          first,
          last,
          grid,
          peakBytes: groupPeakByTiles(fm, tiling, first, keys),
          latencyMs: cost.latencyMs,
          overheadFlops: cost.overheadFlops,
          tiles: cost.tiles,
        });
      }
    }
  }
  return out;
}

/**
 * The exact Pareto front of (peak, latency) over the space (docs/fit.md, "Search"): dynamic programming over the
 * positions of the order, keeping at each boundary every non-dominated way to run the prefix. The peak of an
 * execution is the largest peak of its pieces (and of the initial state) and its latency their sum, both monotone,
 * so extending only non-dominated prefixes loses nothing.
 */
export function paretoFront(fm: FitMemory, fl: FitLatency, space: FitSpace = DEFAULT_SPACE): FrontResult {
  const n = fm.order.length;
  const tileable = tileablePositions(fm.ctx);
  const fronts: Entry[][] = [[{ peak: fm.index.initialResident, latency: 0, segment: null, prev: null }]];
  let segmentsEvaluated = 0;
  for (let last = 0; last < n; last++) {
    const candidates: Entry[] = [];
    for (const segment of segmentsEndingAt(fm, fl, tileable, last, space)) {
      segmentsEvaluated++;
      for (const prev of fronts[segment.first]!)
        candidates.push({ peak: Math.max(prev.peak, segment.peakBytes), latency: prev.latency + segment.latencyMs, segment, prev });
    }
    fronts.push(prune(candidates));
  }
  const front = fronts[n]!.map((entry) => {
    const segments: CostedSegment[] = [];
    for (let e: Entry | null = entry; e !== null && e.segment !== null; e = e.prev) segments.unshift(e.segment);
    return { peakBytes: entry.peak, latencyMs: entry.latency, segments };
  });
  return { front, segmentsEvaluated, tileable: tileable.filter(Boolean).length };
}
