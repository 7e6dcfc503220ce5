import type { PartitionContext } from '../partition/context.ts';
import type { Placement } from '../plan/types.ts';
import {
  adaptPlacement, assignStretch, dimsOf, gaussian, groupAt, normalizeRatios, pick, randomInt, randomPlacement, type Chromosome, type Random,
} from './encoding.ts';

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

export type MutationName = 'dim' | 'ratios' | 'sync' | 'fuse' | 'device' | 'spread' | 'split' | 'merge' | 'balance';

export const MUTATIONS: readonly MutationName[] = ['dim', 'ratios', 'sync', 'fuse', 'device', 'spread', 'split', 'merge', 'balance'];

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

/**
 * One mutation of a copy of `chromosome` (docs/geneflow.md, "Mutation"), at a random position:
 * - dim: the position's group switches to another split dimension;
 * - ratios: the group's ratios get log-normal noise (a device may leave or join);
 * - sync: the position's synchronisation flag flips (turning it off fuses it into its consumers);
 * - fuse: a stretch from the position, placements kept, gets one flag: all fused but its last operator (or, one time
 *   in three, all synchronised);
 * - device: the group moves whole to one device;
 * - spread: the position's placement extends over the next few operators, fused;
 * - split: the group is cut at the position and the second part gets a new placement;
 * - merge: the group absorbs the next group, fused;
 * - balance: a stretch from the position is split among a random subset of the devices with shares proportional to
 *   their `speeds` (whole-model rates), fused.
 */
export function mutate(ctx: PartitionContext, chromosome: Chromosome, kind: MutationName, random: Random, speeds: readonly number[]): Chromosome {
  const deviceCount = speeds.length;
  const child = [...chromosome];
  const n = child.length;
  const position = randomInt(random, n);
  const [start, end] = groupAt(child, position);
  const placement = child[position]!.placement;
  // A new placement for [from, to), keeping each operator's synchronisation flag.
  const refill = (from: number, to: number, next: Placement) => {
    for (let p = from; p < to; p++) child[p] = { op: ctx.order[p]!, placement: adaptPlacement(ctx, p, next), sync: child[p]!.sync };
  };
  switch (kind) {
    case 'dim': {
      if ('device' in placement) break;
      const others = dimsOf(ctx, position).filter((d) => d !== placement.dim);
      if (others.length > 0) refill(start, end, { dim: pick(random, others), ratios: placement.ratios });
      break;
    }
    case 'ratios':
      if (!('device' in placement)) refill(start, end, { dim: placement.dim, ratios: perturbRatios(placement.ratios, random) });
      break;
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
      const ratios = normalizeRatios(speeds.map((s) => (random() < 0.6 ? s : 0)));
      if (ratios !== null) assignStretch(ctx, child, position, Math.min(n, position + stretchLength(random, n)), { dim: pick(random, dims), ratios });
      break;
    }
    case 'split':
      if (position > start) refill(position, end, randomPlacement(ctx, position, random, deviceCount));
      else refill(start, end, randomPlacement(ctx, start, random, deviceCount));
      break;
    case 'merge': {
      if (end >= n) break;
      const [, nextEnd] = groupAt(child, end);
      assignStretch(ctx, child, start, nextEnd, placement);
      break;
    }
  }
  return child;
}
