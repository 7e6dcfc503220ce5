import type { Cluster } from '../cluster/types.ts';
import type { PartitionContext } from '../partition/context.ts';
import { isStripe, type GridPlacement, type Placement } from '../partition/types.ts';
import {
  adaptPlacement,
  assignStretch,
  dimsOf,
  gaussian,
  groupAt,
  normalizeRatios,
  pick,
  randomInt,
  randomPlacement,
  tileableSinks,
  type Chromosome,
  type Random,
} from './encoding.ts';
import { placementShares, repairDecisions, withoutTiles } from '../partition/slices.ts';
import { applyPattern, boundariesOf, detectStructure, type Structure } from './structure.ts';

/**
 * Two-point segment crossover on the operator sequence: the child is `a` with positions [i, j) taken from `b`.
 * Both cut points fall on group boundaries of the parent they enter, so fused stretches mostly survive whole.
 */
export function segmentCrossover(a: Chromosome, b: Chromosome, random: Random): Chromosome {
  const n = a.length;
  let i = randomInt(random, n);
  let j = randomInt(random, n + 1);
  if (i > j) [i, j] = [j, i];
  if (i === j) return [...a];
  i = groupAt(b, i)[0];
  j = j === n ? n : groupAt(b, j)[0];
  return [...a.slice(0, i), ...b.slice(i, j), ...a.slice(j)];
}

export type MutationName =
  'dim' | 'ratios' | 'sync' | 'fuse' | 'device' | 'spread' | 'split' | 'merge' | 'balance' | 'family' | 'stage' | 'grid';

export const MUTATIONS: readonly MutationName[] = [
  'dim',
  'ratios',
  'sync',
  'fuse',
  'device',
  'spread',
  'split',
  'merge',
  'balance',
  'family',
  'stage',
];

/** The mutations GenEFlow draws from for a model where some operator takes a grid: MUTATIONS and `grid`. */
export const GRID_MUTATIONS: readonly MutationName[] = [...MUTATIONS, 'grid'];

/** The grid shapes [rows, cols] of k tiles with at least 2 columns (k × 1 is the rows stripe): 2×2 and 1×4 for 4. */
export function gridShapes(k: number): Array<[number, number]> {
  const shapes: Array<[number, number]> = [];
  for (let r = Math.floor(Math.sqrt(k)); r >= 1; r--) if (k % r === 0 && k / r >= 2) shapes.push([r, k / r]);
  return shapes;
}

/**
 * A grid of `shape` over the devices with a positive share (their number must be rows × cols), largest share first,
 * row-major; each band's ratio is the sum of its devices' shares. Null when the counts differ.
 */
export function sharesToGrid(shares: readonly number[], shape: readonly [number, number]): GridPlacement | null {
  const devices = shares
    .map((s, d) => ({ s, d }))
    .filter(({ s }) => s > 0)
    .sort((a, b) => b.s - a.s || a.d - b.d);
  const [r, c] = shape;
  if (devices.length !== r * c) return null;
  const rows = new Array<number>(r).fill(0);
  const cols = new Array<number>(c).fill(0);
  devices.forEach(({ s }, t) => {
    rows[Math.floor(t / c)] = rows[Math.floor(t / c)]! + s;
    cols[t % c] = cols[t % c]! + s;
  });
  const rowRatios = normalizeRatios(rows);
  const colRatios = normalizeRatios(cols);
  if (rowRatios === null || colRatios === null) return null;
  return { dim: 'grid', rows: rowRatios, cols: colRatios, devices: devices.map(({ d }) => d) };
}

/** A stretch length: exponential with mean n/10 (at least 2), plus one. */
function stretchLength(random: Random, n: number): number {
  return 1 + Math.floor(-Math.log(Math.max(random(), 1e-12)) * Math.max(2, n / 10));
}

/** Ratios multiplied by log-normal noise; sometimes one device leaves or joins. */
function perturbRatios(ratios: readonly number[], random: Random): number[] {
  for (;;) {
    const next = ratios.map((r) => r * Math.exp(0.35 * gaussian(random)));
    if (random() < 0.25) {
      const d = randomInt(random, next.length);
      const mean = ratios.reduce((s, r) => s + r, 0) / ratios.filter((r) => r > 0).length;
      next[d] = next[d]! > 0 ? 0 : mean * (0.5 + random());
    }
    const normalized = normalizeRatios(next);
    if (normalized !== null) return normalized;
  }
}

/** A grid's band ratios with log-normal noise (normalised; all bands keep a positive ratio). */
function perturbBands(ratios: readonly number[], random: Random): number[] {
  if (ratios.length === 1) return [...ratios];
  return normalizeRatios(ratios.map((r) => Math.max(r, 1e-3) * Math.exp(0.35 * gaussian(random)))) ?? [...ratios];
}

/** What mutations need besides the chromosome: the devices' whole-model speeds and where mutations land. */
export interface MutationSpace {
  ctx: PartitionContext;
  cluster: Cluster;
  /** ms of each whole operator on each device: [device][model op index]. */
  opMs: readonly number[][];
  /** Per position: its least whole time over the devices + its outputs' time on the fastest link (ms). */
  weights: readonly number[];
  /** Cumulative position weights plus a floor (last = total): a position is drawn with probability ∝ its weight. */
  cumulative: readonly number[];
  /** Repeated blocks, families and stages (docs/geneflow.md, "Structure"), and the structure's boundaries. */
  structure: Structure;
  boundaries: readonly number[];
  /** The mutations GenEFlow draws from: GRID_MUTATIONS when some operator takes a grid, else MUTATIONS. */
  mutations: readonly MutationName[];
}

/**
 * Where mutations land (docs/geneflow.md): position p has weight = its operator's least whole time over the devices
 * + the time its outputs take on the fastest link + a floor of the mean of those over all operators / 4, so
 * expensive operators (heavy compute, large tensors) are mutated more often and every operator sometimes.
 */
export function mutationSpace(
  ctx: PartitionContext,
  opMs: readonly number[][],
  cluster: Cluster,
  structure: Structure = detectStructure(ctx),
): MutationSpace {
  const fastestLink = Math.max(...cluster.devices.map((d) => Math.max(d.uplinkMbps, d.downlinkMbps)));
  const weights = ctx.opIndex.map((index) => {
    const compute = Math.min(...opMs.map((row) => row[index]!));
    const bytes = ctx.model.ops[index]!.node.outputs.reduce((s, t) => s + (ctx.model.tensors.get(t)?.bytes ?? 0), 0);
    return compute + (bytes * 8) / (fastestLink * 1000);
  });
  const floor = weights.reduce((s, w) => s + w, 0) / Math.max(1, weights.length) / 4 + 1e-12;
  const cumulative: number[] = [];
  let total = 0;
  for (const w of weights) cumulative.push((total += w + floor));
  return {
    ctx,
    cluster,
    opMs,
    weights,
    cumulative,
    structure,
    boundaries: boundariesOf(structure, ctx.order.length),
    mutations: ctx.space.some((s) => s.grid !== null) ? GRID_MUTATIONS : MUTATIONS,
  };
}

const activationBytes = (ctx: PartitionContext, tensors: readonly string[]): number =>
  tensors.reduce((s, t) => s + (ctx.model.tensors.get(t)?.kind === 'weight' ? 0 : (ctx.model.tensors.get(t)?.bytes ?? 0)), 0);

/**
 * Shares that would make the chosen devices finish a fused stretch [from, to) together, ignoring per-message
 * latencies and halos: device d's time per unit share is a_d = its whole time for the stretch's operators + the
 * stretch's input over its downlink + the stretch's output over its uplink, and x_d ∝ 1 / a_d.
 */
export function balancedRatios(space: MutationSpace, from: number, to: number, chosen: readonly boolean[]): number[] | null {
  const { ctx, cluster, opMs } = space;
  const input = activationBytes(ctx, ctx.model.ops[ctx.opIndex[from]!]!.node.inputs);
  const output = activationBytes(ctx, ctx.model.ops[ctx.opIndex[to - 1]!]!.node.outputs);
  return normalizeRatios(
    cluster.devices.map((device, d) => {
      if (!chosen[d]) return 0;
      let a = (input * 8) / (device.downlinkMbps * 1000) + (output * 8) / (device.uplinkMbps * 1000);
      for (let p = from; p < to; p++) a += opMs[d]![ctx.opIndex[p]!]!;
      return 1 / Math.max(a, 1e-9);
    }),
  );
}

function drawPosition(space: MutationSpace, random: Random): number {
  const cumulative = space.cumulative;
  const x = random() * cumulative[cumulative.length - 1]!;
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid]! > x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * One mutation of a copy of `chromosome` (docs/geneflow.md, "Mutation"), at a position drawn by `drawPosition`:
 * - dim: the position's group switches to another split dimension;
 * - ratios: the group's ratios get log-normal noise (a device may leave or join);
 * - sync: the position's synchronisation flag flips (turning it off fuses it into its consumers);
 * - fuse: a stretch from the position, placements kept, gets one flag: all fused but its last operator (or, one time
 *   in three, all synchronised);
 * - device: the group moves whole to one device;
 * - spread: the position's placement extends over the next few operators, fused;
 * - split: the group is cut at the position and the second part gets a new placement;
 * - merge: the group absorbs the next group, fused;
 * - balance: a stretch from the position is split among a random subset of the devices (each with probability 0.6)
 *   with `balancedRatios`, fused;
 * - family: the decisions of the position's block are copied onto every block of its family (or, one time in two, of
 *   its stage);
 * - stage: the position's group is grown or shrunk to a boundary of the structure (its end to a later stage end, or
 *   back to an earlier block end or cut inside it; one time in four its start back to its stage's start), fused;
 * - grid (GRID_MUTATIONS only): the run of the position's group around it whose operators take a grid switches
 *   between stripes and a grid: a grid becomes rows stripes with its devices' shares; a split (or a device: every
 *   device, equal shares) becomes a grid of a random shape of `gridShapes` over its devices (`sharesToGrid`);
 *   `ratios` on a grid perturbs its row and column ratios.
 */
export function mutate(space: MutationSpace, chromosome: Chromosome, kind: MutationName, random: Random): Chromosome {
  const { ctx } = space;
  const deviceCount = space.cluster.devices.length;
  const child = [...chromosome];
  const n = child.length;
  const position = drawPosition(space, random);
  const [start, end] = groupAt(child, position);
  const placement = child[position]!.placement;
  // A new placement for [from, to), keeping each operator's synchronisation flag.
  const refill = (from: number, to: number, next: Placement) => {
    for (let p = from; p < to; p++) child[p] = { op: ctx.order[p]!, placement: adaptPlacement(ctx, p, next), sync: child[p]!.sync };
  };
  switch (kind) {
    case 'dim': {
      if (!isStripe(placement)) break;
      const others = dimsOf(ctx, position).filter((d) => d !== placement.dim);
      if (others.length > 0) refill(start, end, { dim: pick(random, others), ratios: placement.ratios });
      break;
    }
    case 'ratios':
      if (isStripe(placement)) refill(start, end, { dim: placement.dim, ratios: perturbRatios(placement.ratios, random) });
      else if (!('device' in placement))
        refill(start, end, { ...placement, rows: perturbBands(placement.rows, random), cols: perturbBands(placement.cols, random) });
      break;
    case 'grid': {
      if (ctx.space[position]!.grid === null) break;
      let from = position;
      let to = position + 1;
      while (from > start && ctx.space[from - 1]!.grid !== null) from--;
      while (to < end && ctx.space[to]!.grid !== null) to++;
      let next: Placement | null;
      if (!('device' in placement) && placement.dim === 'grid') {
        const ratios = normalizeRatios(placementShares(placement, deviceCount));
        next = ratios === null ? null : { dim: 'rows', ratios };
      } else {
        const shares = 'device' in placement ? new Array<number>(deviceCount).fill(1) : placementShares(placement, deviceCount);
        const shapes = gridShapes(shares.filter((s) => s > 0).length);
        next = shapes.length === 0 ? null : sharesToGrid(shares, pick(random, shapes));
      }
      if (next === null) break;
      for (let p = from; p < to; p++) child[p] = { op: ctx.order[p]!, placement: next, sync: child[p]!.sync };
      break;
    }
    case 'sync':
      child[position] = { ...child[position]!, sync: !child[position]!.sync };
      break;
    case 'fuse': {
      const to = Math.min(n, position + stretchLength(random, n));
      const syncAll = random() < 1 / 3;
      for (let p = position; p < to; p++) child[p] = { ...child[p]!, sync: syncAll || p === to - 1 };
      break;
    }
    case 'device':
      refill(start, end, { device: randomInt(random, deviceCount) });
      break;
    case 'spread':
      assignStretch(ctx, child, position, Math.min(n, position + stretchLength(random, n)), placement);
      break;
    case 'balance': {
      const dims = dimsOf(ctx, position);
      if (dims.length === 0) break;
      const to = Math.min(n, position + stretchLength(random, n));
      const ratios = balancedRatios(
        space,
        position,
        to,
        space.cluster.devices.map(() => random() < 0.6),
      );
      if (ratios !== null) assignStretch(ctx, child, position, to, { dim: pick(random, dims), ratios });
      break;
    }
    case 'split':
      if (position > start) refill(position, end, randomPlacement(ctx, position, random, deviceCount));
      else refill(start, end, randomPlacement(ctx, start, random, deviceCount));
      break;
    case 'family': {
      const { structure } = space;
      const block = structure.blockOf[position]!;
      if (block < 0) break;
      const members =
        random() < 0.5
          ? structure.families[structure.blocks[block]!.family]!.blocks
          : structure.stages[structure.blocks[block]!.stage]!.blocks.filter(
              (b) => structure.blocks[b]!.family === structure.blocks[block]!.family,
            );
      return applyPattern(ctx, structure, child, block, members);
    }
    case 'stage': {
      const { structure, boundaries } = space;
      let from = start;
      let to = end;
      if (random() < 0.5) {
        const stageEnds = structure.stages.map((s) => s.end).filter((e) => e > end);
        const later = stageEnds.length > 0 ? stageEnds : boundaries.filter((b) => b > end);
        if (later.length === 0) break;
        to = later[Math.min(later.length - 1, Math.floor(-Math.log(Math.max(random(), 1e-12)) * 1.5))]!;
      } else {
        const inside = boundaries.filter((b) => b > start && b < end);
        if (inside.length === 0) break;
        to = pick(random, inside);
      }
      if (random() < 0.25) {
        const block = structure.blockOf[start]!;
        if (block >= 0) from = Math.min(from, structure.stages[structure.blocks[block]!.stage]!.start);
      }
      assignStretch(ctx, child, from, to, placement);
      break;
    }
    case 'merge': {
      if (end >= n) break;
      const [, nextEnd] = groupAt(child, end);
      assignStretch(ctx, child, start, nextEnd, placement);
      break;
    }
  }
  return child;
}

/** The largest `tiles` the tiles mutation sets. */
export const MAX_TILES = 16;

/**
 * The tiles mutation (docs/geneflow.md, "Tiles"), not among MUTATIONS: GenEFlow applies it to children of parents that
 * overflow a device's memory (`overflowing`: those devices), and sometimes to children of feasible tiled parents
 * (`overflowing` null). On the repaired chromosome, it picks a stretch that may take tiles, where an overflowing
 * device takes part (with probability ∝ the stretch's output bytes: its operators' whole outputs × that device's
 * share of the sink's ratios); one without tiles gets 2 (one time in three 4), one with k gets 2k (up to MAX_TILES),
 * or, one time in four, k / 2 (none below 2). With `overflowing` null it acts on a tiled stretch only, halving k
 * (none below 2) two times in three, else doubling it. When no stretch qualifies for an overflowing device, a
 * `fuse` mutation first makes one at a drawn position (once).
 */
export function mutateTiles(
  space: MutationSpace,
  chromosome: Chromosome,
  overflowing: readonly number[] | null,
  random: Random,
): Chromosome {
  const { ctx } = space;
  let child = repairDecisions(ctx, chromosome);
  const share = (sink: number, d: number) => {
    const placement = child[sink]!.placement;
    if ('device' in placement) return 0;
    return placementShares(placement, d + 1)[d]!;
  };
  const weightOf = (positions: readonly number[], sink: number) => {
    let bytes = 0;
    for (const p of positions) bytes += activationBytes(ctx, ctx.model.ops[ctx.opIndex[p]!]!.node.outputs);
    if (overflowing === null) return bytes;
    let part = 0;
    for (const d of overflowing) part = Math.max(part, share(sink, d));
    return bytes * part;
  };
  let candidates: Array<{ sink: number; weight: number }> = [];
  for (let attempt = 0; attempt < 2; attempt++) {
    candidates = tileableSinks(ctx, child)
      .filter(({ sink }) => (overflowing === null ? child[sink]!.tiles !== undefined : true))
      .map(({ sink, positions }) => ({ sink, weight: weightOf(positions, sink) }))
      .filter((c) => c.weight > 0);
    if (candidates.length > 0 || overflowing === null) break;
    child = repairDecisions(ctx, mutate(space, child, 'fuse', random));
  }
  if (candidates.length === 0) return child;
  const total = candidates.reduce((a, c) => a + c.weight, 0);
  let x = random() * total;
  let chosen = candidates[candidates.length - 1]!;
  for (const c of candidates) {
    x -= c.weight;
    if (x < 0) {
      chosen = c;
      break;
    }
  }
  const decision = child[chosen.sink]!;
  const k = decision.tiles;
  let next: number | undefined;
  if (k === undefined) next = random() < 1 / 3 ? 4 : 2;
  else if (random() < (overflowing === null ? 2 / 3 : 1 / 4)) next = k > 2 ? Math.floor(k / 2) : undefined;
  else next = Math.min(MAX_TILES, 2 * k);
  child[chosen.sink] = next === undefined ? withoutTiles(decision) : { ...decision, tiles: next };
  return child;
}
