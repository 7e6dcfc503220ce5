import { randomChromosome } from '../geneflow/encoding.ts';
import { Evaluator, type Evaluated } from '../geneflow/fitness.ts';
import { mulberry32 } from '../random.ts';
import type { BaselineOutcome, PlanningContext } from './common.ts';

/**
 * Random search (the GA's ablation, docs/baselines.md): `budget` random plans drawn like the GA's random initial
 * individuals (random fused groups with random placements), the best kept. Uses its own evaluator so that none of
 * the budget is spent on, or saved by, plans other methods simulated.
 */
export function randomSearch(
  { simulator, cluster }: PlanningContext,
  budget: number,
  seed = 1,
  timeLimitMs = Number.POSITIVE_INFINITY,
): BaselineOutcome {
  const evaluator = new Evaluator(simulator);
  const random = mulberry32(seed);
  const deadline = performance.now() + timeLimitMs;
  let best: Evaluated | undefined;
  let draws = 0;
  while (
    evaluator.evaluations < Math.max(1, budget) &&
    draws < 20 * Math.max(1, budget) &&
    (best === undefined || performance.now() < deadline)
  ) {
    draws++;
    const e = evaluator.evaluate(randomChromosome(simulator.context, random, cluster.devices.length));
    if (best === undefined || e.fitness < best.fitness) best = e;
  }
  return { best: best!, candidates: evaluator.evaluations };
}
