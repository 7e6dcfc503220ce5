import { randomChromosome } from '../geneflow/encoding.ts';
import { Evaluator, type Evaluated } from '../geneflow/fitness.ts';
import { mulberry32 } from '../random.ts';
import type { Simulator } from '../simulate/simulate.ts';

/**
 * Random search (the GA's ablation, docs/baselines.md): random plans drawn like the GA's random initial individuals
 * (random fused groups with random placements), the best kept. It runs in steps so that it can be interleaved with
 * GenEFlow: each step gets as many new plans as GenEFlow just simulated and at most the wall time GenEFlow took.
 * It uses its own evaluator, so none of its budget is spent on, or saved by, plans other methods simulated.
 */
export class RandomSearch {
  best: Evaluated | undefined;
  /** Wall time spent in `step`. */
  searchMs = 0;
  private readonly evaluator: Evaluator;
  private readonly random: () => number;

  constructor(
    private readonly simulator: Simulator,
    seed = 1,
  ) {
    this.evaluator = new Evaluator(simulator);
    this.random = mulberry32(seed);
  }

  /** Plans simulated so far. */
  get evaluations(): number {
    return this.evaluator.evaluations;
  }

  /**
   * Simulates `count` more new plans, stopping early after `timeLimitMs` (the search's first plan is simulated
   * whatever the count and time). Random plans repeat rarely; after 20 × count draws the step ends even if some were repeats.
   */
  step(count: number, timeLimitMs = Number.POSITIVE_INFINITY): Evaluated | undefined {
    const started = performance.now();
    const target = this.evaluator.evaluations + count;
    const deviceCount = this.simulator.cluster.devices.length;
    for (let draws = 0; this.best === undefined || (this.evaluator.evaluations < target && draws < 20 * count); draws++) {
      if (this.best !== undefined && performance.now() - started >= timeLimitMs) break;
      const e = this.evaluator.evaluate(randomChromosome(this.simulator.context, this.random, deviceCount));
      if (this.best === undefined || e.fitness < this.best.fitness) this.best = e;
    }
    this.searchMs += performance.now() - started;
    return this.best;
  }
}
