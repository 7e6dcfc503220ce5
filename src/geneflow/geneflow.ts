import type { Cluster } from '../cluster/types.ts';
import type { Model } from '../ir/graph.ts';
import { mulberry32 } from '../random.ts';
import { makePlan } from '../plan/build.ts';
import type { Plan } from '../plan/types.ts';
import type { OpDecision } from '../partition/types.ts';
import { createSimulator, type Simulator } from '../simulate/simulate.ts';
import type { SimulationResult } from '../simulate/types.ts';
import { randomChromosome, randomInt, type Chromosome, type Random } from './encoding.ts';
import { better, Evaluator, type Evaluated } from './fitness.ts';
import { MUTATIONS, mutate, mutationSpace, segmentCrossover } from './operators.ts';
import { EvaluationPool } from './pool.ts';

export interface GeneflowProgress {
  generation: number;
  maxGenerations: number;
  bestLatencyMs: number;
  bestFeasible: boolean;
  evaluations: number;
  elapsedMs: number;
  timeLimitMs: number;
}

export interface GeneflowOptions {
  /** PRNG seed (default 1): equal seeds and inputs give equal runs (without a time limit cutting them short). */
  seed?: number;
  /** Individuals per generation (default 24). */
  populationSize?: number;
  /** Best individuals copied unchanged into the next generation (default 2). */
  elites?: number;
  /** Individuals drawn per tournament (default 3). */
  tournamentSize?: number;
  /** Probability that a child is a crossover of two parents rather than a copy of one (default 0.8). */
  crossoverRate?: number;
  /** Upper limit on generations (default 200). */
  maxGenerations?: number;
  /** Early stop: generations without improvement of the best fitness (default 30). */
  patience?: number;
  /** Wall-clock limit in ms (default 20 000); the best plan so far is returned. */
  timeLimitMs?: number;
  /** Plans (decision lists for the same order) put into the first population: the baselines' plans. */
  seeds?: OpDecision[][];
  /** Fitness in worker threads (default 0: in this thread). */
  workers?: number;
  /** A simulator already built for (model, cluster, order), and an evaluator to share its cache. */
  simulator?: Simulator;
  evaluator?: Evaluator;
  onProgress?: (progress: GeneflowProgress) => void;
}

export interface GeneflowHistoryEntry {
  generation: number;
  /** Fitness (docs/geneflow.md): the latency in ms for a feasible plan. */
  best: number;
  /** Mean fitness of the population's feasible individuals (NaN when none is feasible). */
  mean: number;
  feasible: number;
  evaluations: number;
  elapsedMs: number;
}

export interface GeneflowResult {
  plan: Plan;
  latencyMs: number;
  feasible: boolean;
  result: SimulationResult;
  history: GeneflowHistoryEntry[];
  /** Simulator runs made by the GA (cache hits and the seeds' own evaluations excluded). */
  evaluations: number;
  generations: number;
  searchMs: number;
  stopReason: 'generations' | 'converged' | 'time-limit';
}

function tournament(population: readonly Evaluated[], size: number, random: Random): Evaluated {
  let best = population[randomInt(random, population.length)]!;
  for (let k = 1; k < size; k++) best = better(best, population[randomInt(random, population.length)]!);
  return best;
}

function historyEntry(population: readonly Evaluated[], generation: number, evaluations: number, elapsedMs: number): GeneflowHistoryEntry {
  const feasible = population.filter((e) => e.result.feasible);
  const mean = feasible.length === 0 ? Number.NaN : feasible.reduce((s, e) => s + e.fitness, 0) / feasible.length;
  return { generation, best: population[0]!.fitness, mean, feasible: feasible.length, evaluations, elapsedMs };
}

/**
 * GenEFlow (docs/geneflow.md): a genetic algorithm over whole-model partition decisions. The first population
 * holds every seed plan, mutated copies of them and random plans; each generation keeps the elites and fills the
 * rest with children of tournament-selected parents (segment crossover, then one or more mutations). Stops after
 * `maxGenerations`, after `patience` generations without improvement, or at the time limit.
 */
export async function runGeneflow(
  model: Model,
  cluster: Cluster,
  order: readonly string[],
  options: GeneflowOptions = {},
): Promise<GeneflowResult> {
  const started = performance.now();
  const simulator = options.simulator ?? createSimulator(model, cluster, order);
  const evaluator = options.evaluator ?? new Evaluator(simulator);
  const ctx = simulator.context;
  const deviceCount = cluster.devices.length;
  const space = mutationSpace(ctx, simulator.opMs, cluster);
  const random = mulberry32(options.seed ?? 1);
  const size = Math.max(2, options.populationSize ?? 24);
  const elites = Math.min(size - 1, Math.max(1, options.elites ?? 2));
  const tournamentSize = options.tournamentSize ?? 3;
  const crossoverRate = options.crossoverRate ?? 0.8;
  const maxGenerations = options.maxGenerations ?? 200;
  const patience = options.patience ?? 30;
  const timeLimitMs = options.timeLimitMs ?? 20_000;
  const deadline = started + timeLimitMs;
  const pool = (options.workers ?? 0) > 0 ? await EvaluationPool.start(model, cluster, order, options.workers!) : undefined;
  const evaluationsBefore = evaluator.evaluations;

  const evaluateAll = async (chromosomes: Chromosome[]): Promise<Evaluated[]> => {
    if (pool === undefined) {
      const out: Evaluated[] = [];
      for (const c of chromosomes) {
        if (out.length > 0 && performance.now() > deadline) break;
        out.push(evaluator.evaluate(c));
      }
      return out;
    }
    return pool.evaluateAll(evaluator, chromosomes);
  };

  // Up to four tries for a child neither evaluated before nor already in this generation.
  const offspring = (parents: readonly Evaluated[], seen: Set<string>): Chromosome => {
    let child: Chromosome = [];
    let key = '';
    for (let attempt = 0; attempt < 4; attempt++) {
      const a = tournament(parents, tournamentSize, random).decisions;
      child = random() < crossoverRate ? segmentCrossover(a, tournament(parents, tournamentSize, random).decisions, random) : [...a];
      do child = mutate(space, child, MUTATIONS[randomInt(random, MUTATIONS.length)]!, random);
      while (random() < 0.4);
      key = evaluator.keyOf(child);
      if (evaluator.known(key) === undefined && !seen.has(key)) break;
    }
    seen.add(key);
    return child;
  };

  try {
    const seeds = options.seeds ?? [];
    const first: Chromosome[] = seeds.map((s) => [...s]);
    const seedCount = first.length;
    while (first.length < size) {
      if (seedCount > 0 && first.length % 2 === 0) {
        let child = [...seeds[randomInt(random, seedCount)]!];
        do child = mutate(space, child, MUTATIONS[randomInt(random, MUTATIONS.length)]!, random);
        while (random() < 0.5);
        first.push(child);
      } else first.push(randomChromosome(ctx, random, deviceCount));
    }
    let population = (await evaluateAll(first)).sort((x, y) => x.fitness - y.fitness);
    const history: GeneflowHistoryEntry[] = [
      historyEntry(population, 0, evaluator.evaluations - evaluationsBefore, performance.now() - started),
    ];
    let generation = 0;
    let sinceImprovement = 0;
    let stopReason: GeneflowResult['stopReason'] = 'generations';
    const report = () =>
      options.onProgress?.({
        generation,
        maxGenerations,
        bestLatencyMs: population[0]!.result.latencyMs,
        bestFeasible: population[0]!.result.feasible,
        evaluations: evaluator.evaluations - evaluationsBefore,
        elapsedMs: performance.now() - started,
        timeLimitMs,
      });
    report();
    while (generation < maxGenerations) {
      if (performance.now() >= deadline) {
        stopReason = 'time-limit';
        break;
      }
      if (sinceImprovement >= patience) {
        stopReason = 'converged';
        break;
      }
      generation++;
      const seen = new Set<string>();
      const children: Chromosome[] = [];
      while (children.length < size - elites) children.push(offspring(population, seen));
      const evaluated = await evaluateAll(children);
      // Elites plus the children; when the time limit cut the generation short, the old population fills it up.
      const next = [...population.slice(0, elites), ...evaluated, ...population.slice(elites)].slice(0, size);
      const previousBest = population[0]!.fitness;
      population = next.sort((x, y) => x.fitness - y.fitness);
      sinceImprovement = population[0]!.fitness < previousBest - 1e-9 ? 0 : sinceImprovement + 1;
      history.push(historyEntry(population, generation, evaluator.evaluations - evaluationsBefore, performance.now() - started));
      report();
    }
    const best = population[0]!;
    return {
      plan: makePlan(model, cluster, order, best.decisions, 'geneflow'),
      latencyMs: best.result.latencyMs,
      feasible: best.result.feasible,
      result: best.result,
      history,
      evaluations: evaluator.evaluations - evaluationsBefore,
      generations: generation,
      searchMs: performance.now() - started,
      stopReason,
    };
  } finally {
    await pool?.close();
  }
}
