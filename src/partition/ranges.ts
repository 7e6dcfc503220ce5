import { fail } from '../errors.ts';

/**
 * Turns a ratio vector into contiguous integer ranges of an axis of `extent` elements, device by device in
 * index order. Rounding rule (docs/partition.md): boundary k = round(extent × (r0 + … + r(k−1)) / Σr), so the
 * ranges tile [0, extent) exactly, each device's size is within one element of its exact share, and a device with
 * ratio 0 gets an empty range. A device with a tiny positive ratio may also round to an empty range. With a
 * `granule` g the rule runs on extent / g units and every boundary is a multiple of g.
 */
export function ratiosToRanges(extent: number, ratios: readonly number[], granule = 1): Array<[number, number]> {
  if (granule !== 1) return ratiosToRanges(extent / granule, ratios).map(([s, e]) => [s * granule, e * granule]);
  let total = 0;
  for (const r of ratios) {
    if (!(r >= 0) || !Number.isFinite(r)) fail(`split ratios must be finite and >= 0, got [${ratios.join(', ')}]`, 'invalid-plan');
    total += r;
  }
  if (total <= 0) fail(`split ratios must not all be 0, got [${ratios.join(', ')}]`, 'invalid-plan');
  // Finite ratios can still sum past the largest double (1e308 + 1e308): only their proportions matter.
  if (!Number.isFinite(total)) {
    const max = Math.max(...ratios);
    return ratiosToRanges(
      extent,
      ratios.map((r) => r / max),
    );
  }
  const ranges: Array<[number, number]> = [];
  let cumulative = 0;
  let start = 0;
  for (let d = 0; d < ratios.length; d++) {
    cumulative += ratios[d]!;
    const end = d === ratios.length - 1 ? extent : Math.round((extent * cumulative) / total);
    ranges.push([start, Math.max(start, end)]);
    start = Math.max(start, end);
  }
  return ranges;
}
