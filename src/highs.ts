import highsModule, { type Highs, type LegacyHighsSolution } from 'highs';
import { fail } from './errors.ts';

// The package's types describe a CommonJS module; under ESM its default export is the loader itself.
const highsLoader = highsModule as unknown as () => Promise<Highs>;
let solver: Promise<Highs> | undefined;

/**
 * Solves an LP or QP in CPLEX LP format with HiGHS. An optimisation outcome (infeasible, unbounded) comes back in
 * `Status`; a failure of the solver itself (it throws on a model it cannot read or numbers it cannot handle) becomes
 * a one-line error naming `what` was being solved, and the next call loads a fresh solver.
 */
export async function solveWithHighs(problem: string, what: string): Promise<LegacyHighsSolution> {
  const highs = await (solver ??= highsLoader());
  try {
    return highs.solve(problem);
  } catch (error) {
    solver = undefined;
    const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0]!.trim();
    fail(`${what}: the HiGHS solver failed (${reason === '' ? 'no reason given' : reason})`, 'runtime-failure');
  }
}
