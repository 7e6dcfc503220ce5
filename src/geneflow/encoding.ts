import type { PartitionContext } from '../partition/context.ts';
import { placementShares, tiledStretchOf } from '../partition/slices.ts';
import type { OpDecision, Placement, SplitDim } from '../partition/types.ts';

/**
 * The chromosome (docs/geneflow.md, "Encoding"): one gene per operator in the order, the operator's decision
 * (whole on a device, or split along a dimension with one ratio per device, and whether it synchronises).
 * A group is a maximal run of consecutive operators with the same placement: when its inner operators skip
 * synchronisation it is one fused stretch (DeepThings' fused tiles), so crossover and mutation move whole groups.
 */
export type Chromosome = OpDecision[];

export type Random = () => number;

export function randomInt(random: Random, n: number): number {
  return Math.min(n - 1, Math.floor(random() * n));
}

export function pick<T>(random: Random, items: readonly T[]): T {
  return items[randomInt(random, items.length)]!;
}

/** A standard normal sample (Box–Muller). */
export function gaussian(random: Random): number {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/** Ratios scaled to sum to 1 (rounded to 1e-4 so equal plans have equal keys); null when all are 0. */
export function normalizeRatios(ratios: readonly number[]): number[] | null {
  const total = ratios.reduce((s, r) => s + r, 0);
  if (!(total > 0)) return null;
  return ratios.map((r) => Math.round((r / total) * 1e4) / 1e4);
}

export function samePlacementKey(p: Placement): string {
  if ('device' in p) return `d${p.device}`;
  return p.dim === 'grid' ? `grid:${p.rows.join(',')}/${p.cols.join(',')}/${p.devices.join(',')}` : `${p.dim}:${p.ratios.join(',')}`;
}

/**
 * The placement an operator can take that is closest to `wanted`: `wanted` itself when the operator can be split
 * along its dimension; else the same ratios along the operator's first split dimension; else (an operator that
 * runs whole) the device with the largest ratio.
 */
export function adaptPlacement(ctx: PartitionContext, position: number, wanted: Placement): Placement {
  if ('device' in wanted) return wanted;
  if (wanted.dim === 'grid') {
    if (ctx.space[position]!.grid !== null) return wanted;
    // An operator that cannot take the grid runs on the device of the largest tile.
    const shares = placementShares(wanted, Math.max(...wanted.devices) + 1);
    let largest = 0;
    shares.forEach((s, d) => s > shares[largest]! && (largest = d));
    return { device: largest };
  }
  const options = ctx.space[position]!.options;
  if (options.some((o) => o.dim === wanted.dim)) return wanted;
  if (options.length > 0) return { dim: options[0]!.dim, ratios: wanted.ratios };
  let best = 0;
  wanted.ratios.forEach((r, d) => r > wanted.ratios[best]! && (best = d));
  return { device: best };
}

/** Splits dims an operator offers. */
export function dimsOf(ctx: PartitionContext, position: number): SplitDim[] {
  return ctx.space[position]!.options.map((o) => o.dim);
}

/** [start, end) of the group (maximal run of equal placements) holding `position`. */
export function groupAt(chromosome: Chromosome, position: number): [number, number] {
  const key = samePlacementKey(chromosome[position]!.placement);
  let start = position;
  let end = position + 1;
  while (start > 0 && samePlacementKey(chromosome[start - 1]!.placement) === key) start--;
  while (end < chromosome.length && samePlacementKey(chromosome[end]!.placement) === key) end++;
  return [start, end];
}

/**
 * Gives positions [start, end) one placement (adapted per operator) and fuses them: every operator of the
 * stretch but the last skips synchronisation (repair turns it back on where fusion is not allowed).
 */
export function assignStretch(ctx: PartitionContext, chromosome: Chromosome, start: number, end: number, placement: Placement): void {
  for (let p = start; p < end; p++) {
    chromosome[p] = { op: ctx.order[p]!, placement: adaptPlacement(ctx, p, placement), sync: p === end - 1 };
  }
}

/** A random ratio vector over the devices: each takes part with probability 3/4, with a uniform share. */
export function randomRatios(random: Random, deviceCount: number): number[] {
  for (;;) {
    const ratios = Array.from({ length: deviceCount }, () => (random() < 0.75 ? 0.1 + random() : 0));
    const normalized = normalizeRatios(ratios);
    if (normalized !== null && normalized.filter((r) => r > 0).length >= 1) return normalized;
  }
}

/** A random placement for the operator at `position`: whole on a random device, or a random split. */
export function randomPlacement(ctx: PartitionContext, position: number, random: Random, deviceCount: number): Placement {
  const dims = dimsOf(ctx, position);
  if (dims.length === 0 || random() < 0.3) return { device: randomInt(random, deviceCount) };
  return { dim: pick(random, dims), ratios: randomRatios(random, deviceCount) };
}

/** A random chromosome made of random groups (stretches of 1 to ~n/4 operators), each fused or not. */
export function randomChromosome(ctx: PartitionContext, random: Random, deviceCount: number): Chromosome {
  const n = ctx.order.length;
  const chromosome: Chromosome = new Array(n);
  const maxLength = Math.max(1, Math.ceil(n / 4));
  for (let start = 0; start < n;) {
    const end = Math.min(n, start + 1 + randomInt(random, maxLength));
    assignStretch(ctx, chromosome, start, end, randomPlacement(ctx, start, random, deviceCount));
    if (random() < 0.3) for (let p = start; p < end; p++) chromosome[p] = { ...chromosome[p]!, sync: true };
    start = end;
  }
  return chromosome;
}

/**
 * The positions of repaired decisions that may take `tiles` (a synchronised split operator ending a closed fused
 * stretch, tiledStretchOf), each with its stretch.
 */
export function tileableSinks(ctx: PartitionContext, decisions: readonly OpDecision[]): Array<{ sink: number; positions: number[] }> {
  const sinks: Array<{ sink: number; positions: number[] }> = [];
  decisions.forEach((d, p) => {
    if (!d.sync || 'device' in d.placement) return;
    const stretch = tiledStretchOf(ctx, decisions, p);
    if (typeof stretch !== 'string') sinks.push({ sink: p, positions: stretch });
  });
  return sinks;
}

/** Repaired decisions with `tiles: k` on every stretch that may take it (docs/geneflow.md, "Tiles"). */
export function withTiles(ctx: PartitionContext, decisions: readonly OpDecision[], k: number): OpDecision[] {
  const out = [...decisions];
  for (const { sink } of tileableSinks(ctx, decisions)) out[sink] = { ...out[sink]!, tiles: k };
  return out;
}
