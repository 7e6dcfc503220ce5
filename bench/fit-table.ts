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
