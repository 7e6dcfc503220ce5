import { repairDecisions } from '../partition/slices.ts';
import type { OpDecision } from '../partition/types.ts';
import type { Simulator } from '../simulate/simulate.ts';
import type { SimulationResult } from '../simulate/types.ts';

/**
 * Added to the fitness of a plan that overflows a device (docs/geneflow.md, "Fitness"). Larger than any
 * latency a plan can have, so every feasible plan has a lower (better) fitness than every infeasible one.
 */
export const INFEASIBLE_PENALTY_MS = 1e9;

/**
 * Fitness to minimise: the simulated latency (ms), plus, when some device overflows, INFEASIBLE_PENALTY_MS ×
 * (1 + Σ over overflowing devices of (peak − limit) / limit). Among infeasible plans the smaller overflow wins.
 */
export function fitnessOf(result: SimulationResult): number {
  if (result.violations.length === 0) return result.latencyMs;
  let overflow = 0;
  for (const v of result.violations) overflow += (v.peakBytes - v.limitBytes) / v.limitBytes;
  return result.latencyMs + INFEASIBLE_PENALTY_MS * (1 + overflow);
}

export interface Evaluated {
  decisions: OpDecision[];
  result: SimulationResult;
  fitness: number;
}

/** A stable text key of decisions: equal keys, equal plans. */
export function decisionsKey(decisions: readonly OpDecision[]): string {
  // Joined once from a reused list of pieces: appending to a string makes a rope node per piece.
  const parts = keyParts;
  parts.length = 0;
  for (const d of decisions) {
    const p = d.placement;
    if ('device' in p) parts.push(`${p.device}`);
    else if (p.dim === 'grid') parts.push(`g${p.rows.map(ratioText).join(',')}/${p.cols.map(ratioText).join(',')}/${p.devices.join(',')}`);
    else {
      parts.push(p.dim[0]!);
      for (let i = 0; i < p.ratios.length; i++) {
        if (i > 0) parts.push(',');
        parts.push(ratioText(p.ratios[i]!));
      }
    }
    if (d.tiles !== undefined) parts.push(`*${d.tiles}`);
    parts.push(d.sync ? ';' : '~');
  }
  const key = parts.join('');
  parts.length = 0;
  return key;
}

const keyParts: string[] = [];

/** toPrecision(6) texts of the ratios search operators make (multiples of 1e-4, normalizeRatios): toPrecision is slow. */
const RATIO_TEXT: string[] = [];

function ratioText(r: number): string {
  const k = Math.round(r * 1e4);
  if (k >= 0 && k <= 1e4 && k / 1e4 === r) return (RATIO_TEXT[k] ??= r.toPrecision(6));
  return r.toPrecision(6);
}

/**
 * Simulates decisions for a search: repairs fusion flags the placements do not allow, skips the timeline, and
 * remembers results so a plan seen again costs nothing. `evaluations` counts simulator runs (the budget unit).
 */
export class Evaluator {
  evaluations = 0;
  private readonly cache = new Map<string, Evaluated>();

  constructor(readonly simulator: Simulator) {}

  evaluate(decisions: readonly OpDecision[]): Evaluated {
    const repaired = repairDecisions(this.simulator.context, decisions);
    const key = decisionsKey(repaired);
    const known = this.cache.get(key);
    if (known !== undefined) return known;
    const result = this.simulator.run(repaired, { timeline: false, trusted: true });
    this.evaluations++;
    const evaluated = { decisions: repaired, result, fitness: fitnessOf(result) };
    this.cache.set(key, evaluated);
    return evaluated;
  }

  /** Records an evaluation done elsewhere (a worker thread) so later lookups hit the cache. */
  remember(evaluated: Evaluated): void {
    const key = decisionsKey(evaluated.decisions);
    if (this.cache.has(key)) return;
    this.evaluations++;
    this.cache.set(key, evaluated);
  }

  /** The cache key of decisions after repair. */
  keyOf(decisions: readonly OpDecision[]): string {
    return decisionsKey(repairDecisions(this.simulator.context, decisions));
  }

  known(key: string): Evaluated | undefined {
    return this.cache.get(key);
  }
}

/** The better of two evaluated plans (lower fitness; the first on ties). */
export function better(a: Evaluated, b: Evaluated): Evaluated {
  return b.fitness < a.fitness ? b : a;
}
