/**
 * The least limit at which each of several methods succeeds, found by one shared geometric bisection: every probe
 * runs all methods at one limit, and each probe narrows the bracket of every method it informs. Assumes each
 * method's success is monotone in the limit (more memory never hurts); the answer is the least probed limit at
 * which the method succeeded, and the greatest failing limit below it bounds the true threshold from below.
 */

export interface LimitProbe {
  limit: number;
  /** Methods that succeeded at this limit. */
  succeeded: ReadonlySet<string>;
}

export interface LimitBracket {
  method: string;
  /** Least probed limit at which the method succeeded; undefined when it failed at every probed limit. */
  leastSucceeded: number | undefined;
  /** Greatest known-failing limit below `leastSucceeded` (a probe, or the floor). */
  greatestFailed: number;
}

export interface LeastLimitOptions {
  /** A limit below which no method can succeed (not probed). */
  floor: number;
  /** Limits tried, in order, until every method has succeeded once (each larger than the last). */
  ceilings: readonly number[];
  /** Stop narrowing a bracket once leastSucceeded / greatestFailed ≤ this ratio (> 1). */
  ratio: number;
  /** Upper limit on probes, ceilings included. */
  maxProbes: number;
}

export function bracketsOf(methods: readonly string[], probes: readonly LimitProbe[], floor: number): LimitBracket[] {
  return methods.map((method) => {
    let leastSucceeded: number | undefined;
    for (const p of probes)
      if (p.succeeded.has(method) && (leastSucceeded === undefined || p.limit < leastSucceeded)) leastSucceeded = p.limit;
    let greatestFailed = floor;
    for (const p of probes) {
      if (!p.succeeded.has(method) && p.limit > greatestFailed && (leastSucceeded === undefined || p.limit < leastSucceeded))
        greatestFailed = p.limit;
    }
    return { method, leastSucceeded, greatestFailed };
  });
}

export async function leastSucceedingLimits(
  methods: readonly string[],
  probe: (limit: number) => Promise<ReadonlySet<string>>,
  options: LeastLimitOptions,
): Promise<{ brackets: LimitBracket[]; probes: LimitProbe[] }> {
  if (!(options.ratio > 1)) throw new RangeError(`ratio must be above 1, got ${options.ratio}`);
  if (!(options.floor > 0)) throw new RangeError(`floor must be positive (bisection is geometric), got ${options.floor}`);
  const probes: LimitProbe[] = [];
  const run = async (limit: number) => probes.push({ limit, succeeded: await probe(limit) });
  for (const ceiling of options.ceilings) {
    if (probes.length >= options.maxProbes) break;
    await run(ceiling);
    if (bracketsOf(methods, probes, options.floor).every((b) => b.leastSucceeded !== undefined)) break;
  }
  while (probes.length < options.maxProbes) {
    const open = bracketsOf(methods, probes, options.floor)
      .filter(
        (b): b is LimitBracket & { leastSucceeded: number } =>
          b.leastSucceeded !== undefined && b.leastSucceeded / b.greatestFailed > options.ratio,
      )
      .sort((x, y) => y.leastSucceeded / y.greatestFailed - x.leastSucceeded / x.greatestFailed);
    const widest = open[0];
    if (widest === undefined) break;
    await run(Math.sqrt(widest.leastSucceeded * widest.greatestFailed));
  }
  return { brackets: bracketsOf(methods, probes, options.floor), probes };
}
