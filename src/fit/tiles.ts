import { boxVolume, fullBox, hull, isEmpty, withAxis } from '../partition/box.ts';
import type { PartitionContext } from '../partition/context.ts';
import { ratiosToRanges } from '../partition/ranges.ts';
import type { Box, OpSlice, SplitOption } from '../partition/types.ts';

/**
 * A group's grid: rows × cols spatial tiles of NCHW tensors, or (kind `tokens`, cols 1) `rows` token chunks, each
 * owning one range of every exit's token axis (docs/fit.md, "Execution space").
 */
export interface Grid {
  rows: number;
  cols: number;
  kind?: 'tokens';
}

/**
 * How a group's overlapping halos are had (docs/fit.md, "Halos"): `recompute`d by every tile that needs them
 * (MAFAT), or `cache`d, the rows a tile shares with the next tile of its grid column kept for it (StreamNet).
 */
export type HaloMode = 'recompute' | 'cache';

/** One tile of a group: its place in the grid and, per position from `lowest` to `last`, the slice it runs (null: none). */
export interface Tile {
  row: number;
  col: number;
  slices: Array<OpSlice | null>;
  /**
   * Cached halos only (Tiling.halo `cache`), per position from `lowest` to `last`: the region of the output the tile
   * holds (`regions`: the rows taken from the cache and those its slice computes), the rows it takes from the cache
   * the tile before it in its column kept (`cached`), and the rows it keeps for the next tile of its column (`kept`).
   */
  regions?: Array<Box | null>;
  cached?: Array<Box | null>;
  kept?: Array<Box | null>;
}

/**
 * The tiles of every group that ends at position `last` with one grid, for every first position from `lowest` up:
 * regions are derived backwards from `last` (partition/slices.ts does the same for fused stretches), so a group
 * [first, last] uses the slices of positions first..last unchanged whatever `first` is.
 */
export interface Tiling {
  last: number;
  lowest: number;
  grid: Grid;
  tiles: Tile[];
  /** Positions in lowest..last whose output is read after `last` or is a graph output: assembled whole. */
  exits: Set<number>;
  /** `cache`: tiles run column by column and keep halo rows for the next tile of their column (tileGroupCached). */
  halo?: 'cache';
}

/** The part of a 4-D tensor of `shape` that tile (row, col) of `grid` owns: its rows and columns, all of N and C. */
export function tileShare(shape: readonly number[], grid: Grid, row: number, col: number): Box {
  const rows = ratiosToRanges(shape[2]!, new Array<number>(grid.rows).fill(1))[row]!;
  const cols = ratiosToRanges(shape[3]!, new Array<number>(grid.cols).fill(1))[col]!;
  return [[0, shape[0]!], [0, shape[1]!], rows, cols];
}

/** The token axis of position p's output (the partitioner's `tokens` split option), undefined when it has none. */
export function tokenOption(ctx: PartitionContext, p: number): SplitOption | undefined {
  return ctx.geometry[p]!.options.find((o) => o.dim === 'tokens');
}

/**
 * The part of position p's output (an exit) that tile (row, col) owns: its spatial tile, or for a token grid
 * chunk `row` of the output's token axis (ratiosToRanges, equal ratios, in whole granules) and all of every other axis.
 */
export function exitShare(ctx: PartitionContext, p: number, grid: Grid, row: number, col: number): Box {
  const shape = ctx.geometry[p]!.outputShapes[0]!;
  if (grid.kind !== 'tokens') return tileShare(shape, grid, row, col);
  const option = tokenOption(ctx, p)!;
  const [start, end] = ratiosToRanges(shape[option.axis]!, new Array<number>(grid.rows).fill(1), option.granule)[row]!;
  return withAxis(fullBox(shape), option.axis, start, end);
}

/** Positions in [lowest, last] whose output is read after `last` or is a graph output. */
export function exitsOf(ctx: PartitionContext, lowest: number, last: number): Set<number> {
  const exits = new Set<number>();
  for (let p = lowest; p <= last; p++)
    if (ctx.isGraphOutput[p]![0]! || ctx.consumers[p]![0]!.some((use) => use.position > last)) exits.add(p);
  return exits;
}

/**
 * The largest grid extents a group ending at `last` may use when it starts at `first`: every exit's share must be
 * non-empty, so rows ≤ its height and cols ≤ its width; for token chunks, chunks ≤ every exit's tokens (in granules).
 */
export function gridLimit(ctx: PartitionContext, exits: ReadonlySet<number>, first: number, kind?: 'tokens'): Grid {
  let rows = Infinity;
  let cols = Infinity;
  for (const p of exits) {
    if (p < first) continue;
    if (kind === 'tokens') {
      const option = tokenOption(ctx, p);
      rows = Math.min(rows, option === undefined ? 0 : option.extent / option.granule);
      cols = 1;
      continue;
    }
    const shape = ctx.geometry[p]!.outputShapes[0]!;
    rows = Math.min(rows, shape[2]!);
    cols = Math.min(cols, shape[3]!);
  }
  return { rows, cols };
}

/**
 * Every tile's slices of positions lowest..last (all tileable, space.ts): an exit computes its share of the grid
 * plus whatever later operators of the tile read of it, any other operator the hull of what they read (its halo),
 * so overlapping halos are recomputed by neighbouring tiles. Exits must allow the grid (gridLimit).
 */
export function tileGroup(ctx: PartitionContext, lowest: number, last: number, grid: Grid): Tiling {
  const exits = exitsOf(ctx, lowest, last);
  const tiles: Tile[] = [];
  for (let row = 0; row < grid.rows; row++) {
    for (let col = 0; col < grid.cols; col++) {
      const slices: Array<OpSlice | null> = new Array(last - lowest + 1).fill(null);
      for (let p = last; p >= lowest; p--) {
        const geometry = ctx.geometry[p]!;
        let region: Box | null = exits.has(p) ? exitShare(ctx, p, grid, row, col) : null;
        for (const use of ctx.consumers[p]![0]!) {
          if (use.position > last) continue;
          region = hull(region, slices[use.position - lowest]?.inputs[use.input] ?? null);
        }
        if (region === null || isEmpty(region)) continue;
        const outputs = geometry.widen([region]);
        const { inputs, overrides } = geometry.inputs(outputs);
        const op = ctx.model.ops[ctx.opIndex[p]!]!;
        const full = ctx.outputVolume[p]!;
        const flops = full === 0 ? 0 : (op.cost.flops * boxVolume(outputs[0]!)) / full;
        slices[p - lowest] =
          overrides === undefined ? { device: 0, outputs, inputs, flops } : { device: 0, outputs, inputs, flops, overrides };
      }
      tiles.push({ row, col, slices });
    }
  }
  return { last, lowest, grid, tiles, exits };
}

/** Whether two boxes have the same extents on every axis but `axis`. */
function sameBut(a: Box, b: Box, axis: number): boolean {
  return a.length === b.length && a.every(([s, e], k) => k === axis || (s === b[k]![0] && e === b[k]![1]));
}

/**
 * The tiles of a group with cached halos (docs/fit.md, "Halos"; docs/memory.md, "Cached halos"). Tiles run column by
 * column, each column's tiles in row order. Walking each tile backwards from `last` as tileGroup does, a position's
 * region is what the tile's *computed* slices of later positions read (and an exit's share): its rows [s, e). When
 * the tile before it in the column held rows [s', e') of that output with s' ≤ s < e' < e and the same extent on
 * every other axis, rows [s, e') come from that tile's cache (it keeps them: `kept`) and the slice computes only rows
 * [e', e); otherwise the slice computes the whole region. Columns recompute their halos.
 */
export function tileGroupCached(ctx: PartitionContext, lowest: number, last: number, grid: Grid): Tiling {
  const exits = exitsOf(ctx, lowest, last);
  const n = last - lowest + 1;
  const tiles: Tile[] = [];
  for (let col = 0; col < grid.cols; col++) {
    let before: Tile | null = null;
    for (let row = 0; row < grid.rows; row++) {
      const tile: Tile = {
        row,
        col,
        slices: new Array(n).fill(null),
        regions: new Array(n).fill(null),
        cached: new Array(n).fill(null),
        kept: new Array(n).fill(null),
      };
      for (let p = last; p >= lowest; p--) {
        const i = p - lowest;
        const geometry = ctx.geometry[p]!;
        let region: Box | null = exits.has(p) ? exitShare(ctx, p, grid, row, col) : null;
        for (const use of ctx.consumers[p]![0]!) {
          if (use.position > last) continue;
          region = hull(region, tile.slices[use.position - lowest]?.inputs[use.input] ?? null);
        }
        if (region === null || isEmpty(region)) continue;
        const held = geometry.widen([region])[0]!;
        tile.regions![i] = held;
        const [s, e] = held[2]!;
        const previous = before?.regions![i] ?? null;
        let compute: Box = held;
        if (previous !== null && sameBut(previous, held, 2) && previous[2]![0] <= s && s < previous[2]![1] && previous[2]![1] < e) {
          const end = previous[2]![1];
          tile.cached![i] = withAxis(held, 2, s, end);
          before!.kept![i] = tile.cached![i]!;
          compute = withAxis(held, 2, end, e);
        }
        const outputs = geometry.widen([compute]);
        if (outputs[0]![2]![0] !== compute[2]![0] || outputs[0]![2]![1] !== compute[2]![1])
          throw new Error(`tileGroupCached: position ${p} widens rows, which caching cannot split`);
        const { inputs, overrides } = geometry.inputs(outputs);
        const op = ctx.model.ops[ctx.opIndex[p]!]!;
        const full = ctx.outputVolume[p]!;
        const flops = full === 0 ? 0 : (op.cost.flops * boxVolume(outputs[0]!)) / full;
        tile.slices[i] = overrides === undefined ? { device: 0, outputs, inputs, flops } : { device: 0, outputs, inputs, flops, overrides };
      }
      tiles.push(tile);
      before = tile;
    }
  }
  return { last, lowest, grid, tiles, exits, halo: 'cache' };
}

/** The tiles of a group in halo mode `halo` (tileGroup or tileGroupCached). */
export function tileGroupWith(ctx: PartitionContext, lowest: number, last: number, grid: Grid, halo: HaloMode): Tiling {
  return halo === 'cache' ? tileGroupCached(ctx, lowest, last, grid) : tileGroup(ctx, lowest, last, grid);
}

/** Share of the whole operator's output a slice computes (what its time is scaled by, docs/latency.md). */
export function sliceShare(ctx: PartitionContext, position: number, slice: OpSlice): number {
  const full = ctx.outputVolume[position]!;
  return full === 0 ? 0 : boxVolume(slice.outputs[0]!) / full;
}

/**
 * Whether group [first, last] of a token grid may hold its views (Reshape, Squeeze, Unsqueeze: alias operators): a
 * view inside a chunk shares its source's chunk tensor, so its source must be computed in the group too, and no
 * exit may be a view (a view's whole tensor shares its source's buffer outside the group).
 */
export function viewsFit(ctx: PartitionContext, exits: ReadonlySet<number>, first: number, last: number): boolean {
  for (let p = first; p <= last; p++) {
    if (ctx.model.ops[ctx.opIndex[p]!]!.memory !== 'alias') continue;
    if (exits.has(p)) return false;
    const source = ctx.producers[p]![0];
    if (source == null || source.position < first) return false;
  }
  return true;
}
