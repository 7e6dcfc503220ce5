/**
 * The pure part of `npm run bench:fit` (bench/fit.ts): from one fit sweep (the whole Pareto front of a model) to one
 * row of the table in docs/fit.md ("Measured").
 */
import { formatBytes } from '../src/fit/size.ts';

/** A point of the front as the table needs it (a FitExecution has more). */
export interface TablePoint {
  peakBytes: number;
  latencyMs: number;
  groups: readonly unknown[];
}

/** What one fit sweep gives the table. */
export interface SweepSummary {
  baselinePeakBytes: number;
  baselineLatencyMs: number;
  /** By increasing peak and so decreasing latency (FitResult.front). */
  front: readonly TablePoint[];
}

/** The fractions of the BTSearch peak the table has a column for. */
export const FRACTIONS = [2, 4, 8] as const;

/**
 * The fastest front point whose peak is within `limitBytes`, or null when none is. The front is by increasing peak
 * and decreasing latency, so it is the last point within the limit; the search does not rely on that order and
 * takes the least latency (the lower peak on a tie).
 */
export function fastestWithin<P extends TablePoint>(front: readonly P[], limitBytes: number): P | null {
  let best: P | null = null;
  for (const p of front)
    if (
      p.peakBytes <= limitBytes &&
      (best === null || p.latencyMs < best.latencyMs || (p.latencyMs === best.latencyMs && p.peakBytes < best.peakBytes))
    )
      best = p;
  return best;
}

/** The cell of one fraction: the limit (⌊BTSearch peak / denominator⌋ bytes) and the fastest point within it. */
export interface FractionCell {
  denominator: number;
  limitBytes: number;
  point: { peakBytes: number; latencyMs: number; latencyChangePct: number; groups: number } | null;
}

export interface FitRow {
  baselinePeakBytes: number;
  baselineLatencyMs: number;
  /** The front's first point: the least peak of any execution in the space. */
  leastPeakBytes: number;
  leastPeakLatencyMs: number;
  /** baselinePeakBytes / leastPeakBytes. */
  ratio: number;
  /** (least-peak latency − baseline latency) / baseline latency × 100. */
  leastPeakLatencyChangePct: number;
  fractions: FractionCell[];
}

export const changePct = (x: number, base: number) => ((x - base) / base) * 100;

/** One row of the table from one sweep. */
export function fitRow(sweep: SweepSummary, denominators: readonly number[] = FRACTIONS): FitRow {
  const least = sweep.front.reduce((a, b) =>
    b.peakBytes < a.peakBytes || (b.peakBytes === a.peakBytes && b.latencyMs < a.latencyMs) ? b : a,
  );
  return {
    baselinePeakBytes: sweep.baselinePeakBytes,
    baselineLatencyMs: sweep.baselineLatencyMs,
    leastPeakBytes: least.peakBytes,
    leastPeakLatencyMs: least.latencyMs,
    ratio: sweep.baselinePeakBytes / least.peakBytes,
    leastPeakLatencyChangePct: changePct(least.latencyMs, sweep.baselineLatencyMs),
    fractions: denominators.map((denominator) => {
      const limitBytes = Math.floor(sweep.baselinePeakBytes / denominator);
      const p = fastestWithin(sweep.front, limitBytes);
      return {
        denominator,
        limitBytes,
        point:
          p === null
            ? null
            : {
                peakBytes: p.peakBytes,
                latencyMs: p.latencyMs,
                latencyChangePct: changePct(p.latencyMs, sweep.baselineLatencyMs),
                groups: p.groups.length,
              },
      };
    }),
  };
}

/** A latency change as the table prints it: one decimal, signed, and +0.0% for anything that rounds to zero. */
export function formatChange(pct: number): string {
  const text = pct.toFixed(1);
  return Number(text) === 0 ? '+0.0%' : `${pct > 0 ? '+' : ''}${text}%`;
}

const FRACTION_NAMES: Record<number, string> = { 2: '½', 4: '¼', 8: '⅛' };

export function fractionCell(cell: FractionCell): string {
  if (cell.point === null) return 'infeasible';
  const p = cell.point;
  return `${formatBytes(p.peakBytes)}, ${formatChange(p.latencyChangePct)}, ${p.groups} group${p.groups === 1 ? '' : 's'}`;
}

/** The markdown table of docs/fit.md ("Measured"): one line per labelled row, the search time in seconds. */
export function markdownTable(
  rows: ReadonlyArray<{ label: string; row: FitRow; searchS: number }>,
  denominators: readonly number[] = FRACTIONS,
): string {
  const header = [
    'model',
    'BTSearch peak (untiled)',
    'untiled latency',
    'least peak with tiling',
    'ratio',
    'its latency',
    ...denominators.map((d) => `at ${FRACTION_NAMES[d] ?? `1/${d}`}`),
    'search time',
  ];
  const align = ['---', '---:', '---:', '---:', '---:', '---:', ...denominators.map(() => '---'), '---:'];
  const lines = [`| ${header.join(' | ')} |`, `| ${align.join(' | ')} |`];
  for (const { label, row, searchS } of rows)
    lines.push(
      `| ${[
        label,
        formatBytes(row.baselinePeakBytes),
        `${row.baselineLatencyMs.toFixed(1)} ms`,
        formatBytes(row.leastPeakBytes),
        `${row.ratio.toFixed(2)}×`,
        formatChange(row.leastPeakLatencyChangePct),
        ...row.fractions.map(fractionCell),
        `${searchS.toFixed(1)} s`,
      ].join(' | ')} |`,
    );
  return `${lines.join('\n')}\n`;
}

/** A front point with how many of its groups cache their halos (FitGroup.halo). */
export interface HaloPoint extends TablePoint {
  cachedGroups: number;
}

/** One row of the halo table of docs/fit.md ("Measured"): the same model swept with recomputed and with cached halos. */
export interface HaloRow {
  /** The least peak recomputing (`--halo recompute`) and its latency change over the untiled run, in %. */
  recomputeLeastPeakBytes: number;
  recomputeLeastPeakLatencyChangePct: number;
  /** The least peak with `--halo cache` (never above the recomputing one: the space is a superset), its latency change and cached groups. */
  cacheLeastPeakBytes: number;
  cacheLeastPeakLatencyChangePct: number;
  cacheLeastPeakCachedGroups: number;
  /** The fastest `--halo cache` point within the recomputing least peak: its latency change and cached groups. */
  atRecomputeLeast: { latencyChangePct: number; cachedGroups: number };
  /** Per fraction of the BTSearch peak: the fastest point's latency change recomputing and with caching (null: infeasible). */
  fractions: Array<{
    denominator: number;
    limitBytes: number;
    recompute: number | null;
    cache: number | null;
    cachedGroups: number | null;
  }>;
  /** Front points with some cached group, of all the `--halo cache` front's points. */
  cachedPoints: number;
  points: number;
}

/** The halo row of one model from its two sweeps (the same baseline). */
export function haloRow(
  recompute: SweepSummary,
  cache: Omit<SweepSummary, 'front'> & { front: readonly HaloPoint[] },
  denominators: readonly number[] = FRACTIONS,
): HaloRow {
  const r = fitRow(recompute, denominators);
  const c = fitRow(cache, denominators);
  const leastCache = fastestWithin(cache.front, c.leastPeakBytes)!;
  const atLeast = fastestWithin(cache.front, r.leastPeakBytes)!;
  return {
    recomputeLeastPeakBytes: r.leastPeakBytes,
    recomputeLeastPeakLatencyChangePct: r.leastPeakLatencyChangePct,
    cacheLeastPeakBytes: c.leastPeakBytes,
    cacheLeastPeakLatencyChangePct: c.leastPeakLatencyChangePct,
    cacheLeastPeakCachedGroups: leastCache.cachedGroups,
    atRecomputeLeast: { latencyChangePct: changePct(atLeast.latencyMs, cache.baselineLatencyMs), cachedGroups: atLeast.cachedGroups },
    fractions: denominators.map((denominator, k) => {
      const limitBytes = r.fractions[k]!.limitBytes;
      const p = fastestWithin(cache.front, limitBytes);
      return {
        denominator,
        limitBytes,
        recompute: r.fractions[k]!.point?.latencyChangePct ?? null,
        cache: c.fractions[k]!.point?.latencyChangePct ?? null,
        cachedGroups: p?.cachedGroups ?? null,
      };
    }),
    cachedPoints: cache.front.filter((p) => p.cachedGroups > 0).length,
    points: cache.front.length,
  };
}

/** The halo table of docs/fit.md ("Measured"): recompute against cache, one line per model. */
export function haloTable(
  rows: ReadonlyArray<{ label: string; halo: HaloRow; searchS: number }>,
  denominators: readonly number[] = FRACTIONS,
): string {
  const header = [
    'model',
    'least peak: recompute',
    'least peak: cache',
    'at the recompute least peak: latency',
    ...denominators.map((d) => `at ${FRACTION_NAMES[d] ?? `1/${d}`}: latency`),
    'cached points of the front',
    'search time (cache)',
  ];
  const align = ['---', '---:', '---:', '---', ...denominators.map(() => '---'), '---:', '---:'];
  const versus = (recompute: number | null, cache: number | null, groups: number | null) =>
    recompute === null && cache === null
      ? 'infeasible'
      : `${recompute === null ? 'infeasible' : formatChange(recompute)} → ${cache === null ? 'infeasible' : formatChange(cache)}${groups ? ` (${groups} cached)` : ''}`;
  const lines = [`| ${header.join(' | ')} |`, `| ${align.join(' | ')} |`];
  for (const { label, halo: h, searchS } of rows)
    lines.push(
      `| ${[
        label,
        `${formatBytes(h.recomputeLeastPeakBytes)}, ${formatChange(h.recomputeLeastPeakLatencyChangePct)}`,
        `${formatBytes(h.cacheLeastPeakBytes)}, ${formatChange(h.cacheLeastPeakLatencyChangePct)}${h.cacheLeastPeakCachedGroups ? ` (${h.cacheLeastPeakCachedGroups} cached)` : ''}`,
        versus(h.recomputeLeastPeakLatencyChangePct, h.atRecomputeLeast.latencyChangePct, h.atRecomputeLeast.cachedGroups),
        ...h.fractions.map((f) => versus(f.recompute, f.cache, f.cachedGroups)),
        `${h.cachedPoints} of ${h.points}`,
        `${searchS.toFixed(1)} s`,
      ].join(' | ')} |`,
    );
  return `${lines.join('\n')}\n`;
}
