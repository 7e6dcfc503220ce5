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
import { mutate, mutateTiles, mutationSpace, segmentCrossover, type MutationSpace } from './operators.ts';
import { EvaluationPool } from './pool.ts';
import { gridSeeds, structuredSeeds, tiledSeeds } from './seeds.ts';

export interface GeneflowProgress {
  generation: number;
  bestLatencyMs: number;
  bestFeasible: boolean;
  evaluations: number;
  restarts: number;
  elapsedMs: number;
  timeLimitMs: number;
}

/**
 * A search run beside GenEFlow on the same budget (the random-search ablation): after each generation it gets as
 * many new plans as GenEFlow simulated in it, within the time GenEFlow has spent so far minus what the rival has
 * (so it never uses more wall time in all), and returns its best so far, which GenEFlow takes into its population.
 */
export interface Rival {
  step(evaluations: number, timeLimitMs: number): Evaluated | undefined;
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
  /** Upper limit on generations (default none: the time limit ends the run). */
  maxGenerations?: number;
  /** Upper limit on plans simulated by the GA (default none). */
  maxEvaluations?: number;
  /** Generations without improvement of the best fitness after which the population is renewed (default 30). */
  patience?: number;
  /** Wall-clock limit in ms (default 20 000), shared with the rival when there is one; the best plan so far is returned. */
  timeLimitMs?: number;
  /** Plans (decision lists for the same order) put into the first population: the baselines' plans. */
  seeds?: OpDecision[][];
  /**
   * Structured seeds (docs/geneflow.md, "Structured seeds"): before the first generation, plans built from the
   * model's repeated blocks are simulated, within `seedingShare` (default 0.2) of `maxEvaluations` and half that
   * share of the time limit, and the best join the first population (default true).
   */
  structured?: boolean;
  seedingShare?: number;
  /**
   * Tiled stretches (docs/geneflow.md, "Tiles"; default true): the tiles mutation on children of parents that overflow
   * a device, and tiled seeds when no seed fits. Runs where no plan overflows are the same with or without.
   */
  tiles?: boolean;
  /** A search interleaved with this one on an equal budget, whose best plan GenEFlow adopts. */
  rival?: Rival;
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
  /** Simulator runs made by the GA, structured seeds included (cache hits and the given seeds' evaluations excluded). */
  evaluations: number;
  /** Structured seed plans simulated before the first generation. */
  structuredSeeds: number;
  generations: number;
  /** Times the population was renewed after `patience` generations without improvement. */
  restarts: number;
  /** Wall time of the GA itself (the rival's steps excluded). */
  searchMs: number;
  stopReason: 'generations' | 'evaluations' | 'time-limit';
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

/** A copy of `chromosome` with `count` random mutations. */
function mutated(space: MutationSpace, chromosome: Chromosome, count: number, random: Random): Chromosome {
  let child = [...chromosome];
  for (let k = 0; k < count; k++) child = mutate(space, child, space.mutations[randomInt(random, space.mutations.length)]!, random);
  return child;
}

/** The default wall-clock budget (ms) of a planning run: GenEFlow alone, or `plan`'s whole job. */
export const DEFAULT_TIME_LIMIT_MS = 20_000;

/**
 * GenEFlow (docs/geneflow.md): a genetic algorithm over whole-model partition decisions. The first population
 * holds every seed plan, mutated copies of them and random plans; each generation keeps the elites and fills the
 * rest with children of tournament-selected parents (segment crossover, then one or more mutations). After
 * `patience` generations without improvement the population is renewed around the elites (immigrants, heavily
 * mutated copies of the best and of the seeds) and mutations widen. Runs until the time limit, `maxGenerations` or
 * `maxEvaluations`; the best plan never gets worse.
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
  const maxGenerations = options.maxGenerations ?? Number.POSITIVE_INFINITY;
  const maxEvaluations = options.maxEvaluations ?? Number.POSITIVE_INFINITY;
  const patience = options.patience ?? 30;
  const timeLimitMs = options.timeLimitMs ?? DEFAULT_TIME_LIMIT_MS;
  const deadline = started + timeLimitMs;
  const rival = options.rival;
  const tiles = options.tiles ?? true;
  const pool = (options.workers ?? 0) > 0 ? await EvaluationPool.start(model, cluster, order, options.workers!) : undefined;
  const evaluationsBefore = evaluator.evaluations;
  const spent = () => evaluator.evaluations - evaluationsBefore;
  let rivalMs = 0;

  // With a rival, a generation begun at t may use half the time left: the rival's step after it takes at most as long.
  // The first `always` chromosomes are evaluated whatever the time (the seeds: the baselines simulated them already).
  const evaluateAll = async (t: number, chromosomes: Chromosome[], always = 1): Promise<Evaluated[]> => {
    const stopAt = rival === undefined ? deadline : t + (deadline - t) / 2;
    if (pool === undefined) {
      const out: Evaluated[] = [];
      for (const c of chromosomes) {
        if (out.length >= always && (performance.now() > stopAt || spent() >= maxEvaluations)) break;
        out.push(evaluator.evaluate(c));
      }
      return out;
    }
    return pool.evaluateAll(evaluator, chromosomes);
  };

  // Mutation width: each further mutation of a child follows with this probability; it grows with every restart
  // that brings no improvement and falls back when the best improves.
  let chain = 0.4;

  // Up to four tries for a child neither evaluated before nor already in this generation.
  const offspring = (parents: readonly Evaluated[], seen: Set<string>): Chromosome => {
    let child: Chromosome = [];
    let key = '';
    for (let attempt = 0; attempt < 4; attempt++) {
      const parent = tournament(parents, tournamentSize, random);
      const a = parent.decisions;
      child = random() < crossoverRate ? segmentCrossover(a, tournament(parents, tournamentSize, random).decisions, random) : [...a];
      do child = mutate(space, child, space.mutations[randomInt(random, space.mutations.length)]!, random);
      while (random() < chain);
      // Tiles where memory overflows (and sometimes fewer where a tiled parent fits); no draw otherwise.
      if (tiles) {
        const violations = parent.result.violations;
        if (violations.length > 0) {
          if (random() < 0.5)
            child = mutateTiles(
              space,
              child,
              violations.map((v) => v.device),
              random,
            );
        } else if (a.some((d) => d.tiles !== undefined) && random() < 0.2) child = mutateTiles(space, child, null, random);
      }
      key = evaluator.keyOf(child);
      if (evaluator.known(key) === undefined && !seen.has(key)) break;
    }
    seen.add(key);
    return child;
  };

  const given = options.seeds ?? [];
  let seeds: Chromosome[] = given;
  // A renewed population around the elites: random immigrants, copies of the best with 2 + restarts mutations,
  // mutated seeds (the baselines' regions of the space), alternately.
  const renewal = (population: readonly Evaluated[], restarts: number): Chromosome[] => {
    const out: Chromosome[] = [];
    while (out.length < size - elites) {
      const kind = out.length % 3;
      if (kind === 0) out.push(randomChromosome(ctx, random, deviceCount));
      else if (kind === 1 || seeds.length === 0) {
        const parent = population[randomInt(random, Math.min(elites, population.length))]!.decisions;
        out.push(mutated(space, parent, 2 + randomInt(random, 2 + restarts), random));
      } else out.push(mutated(space, seeds[randomInt(random, seeds.length)]!, 1 + randomInt(random, 3), random));
    }
    return out;
  };

  try {
    const t0 = performance.now();
    // Structured seeds: simulated now (they count as the GA's evaluations), the best of them (up to half the
    // population) join the given seeds in the first population and in every renewal.
    let structuredCount = 0;
    if (options.structured ?? true) {
      const share = options.seedingShare ?? 0.2;
      // A seed costs a fresh simulation (few slices shared with plans seen before), several GA children's: half the share of the time.
      const stopAt = t0 + timeLimitMs * share * 0.5;
      const evaluationLimit = Number.isFinite(maxEvaluations) ? Math.floor(maxEvaluations * share) : Number.POSITIVE_INFINITY;
      const seeded = structuredSeeds(simulator, space, space.structure, given, (c) =>
        performance.now() > stopAt || spent() >= evaluationLimit ? undefined : evaluator.evaluate(c),
      );
      // Grid seeds: the best seeds (given and structured) with their rows splits on grids.
      seeded.push(
        ...gridSeeds(ctx, cluster.devices.length, [...given.map((g) => evaluator.evaluate(g)), ...seeded], (c) =>
          performance.now() > stopAt + timeLimitMs * share * 0.1 || spent() >= evaluationLimit * 1.1 ? undefined : evaluator.evaluate(c),
        ),
      );
      if (tiles && seeded.length > 0 && seeded.every((e) => !e.result.feasible)) {
        // No seed fits: the least overflowing ones with every stretch tiled (they count as structured seeds).
        const givenEvaluated = given.map((g) => evaluator.evaluate(g));
        seeded.push(
          ...tiledSeeds(ctx, [...givenEvaluated, ...seeded], (c) =>
            performance.now() > stopAt + timeLimitMs * share * 0.25 || spent() >= evaluationLimit * 1.25
              ? undefined
              : evaluator.evaluate(c),
          ),
        );
      }
      structuredCount = seeded.length;
      const keys = new Set(given.map((g) => evaluator.keyOf(g)));
      const best: Chromosome[] = [];
      for (const e of [...seeded].sort((a, b) => a.fitness - b.fitness)) {
        if (best.length >= Math.max(1, Math.floor(size / 2))) break;
        const key = evaluator.keyOf(e.decisions);
        if (keys.has(key)) continue;
        keys.add(key);
        best.push(e.decisions);
      }
      seeds = [...given, ...best];
    }
    const first: Chromosome[] = seeds.map((s) => [...s]);
    const seedCount = first.length;
    while (first.length < size) {
      if (seedCount > 0 && first.length % 2 === 0) {
        let child = [...seeds[randomInt(random, seedCount)]!];
        do child = mutate(space, child, space.mutations[randomInt(random, space.mutations.length)]!, random);
        while (random() < 0.5);
        first.push(child);
      } else first.push(randomChromosome(ctx, random, deviceCount));
    }
    let population: Evaluated[] = [];
    // The rival's step after a generation: as many new plans as the GA just simulated, in at most the time the GA has
    // spent so far minus what the rival has; its best taken in place of the worst individual when better.
    const stepRival = (evaluations: number) => {
      if (rival === undefined) return;
      const t = performance.now();
      const theirs = rival.step(evaluations, t - started - 2 * rivalMs);
      rivalMs += performance.now() - t;
      if (theirs === undefined || theirs.fitness >= population[population.length - 1]!.fitness) return;
      const key = evaluator.keyOf(theirs.decisions);
      if (population.some((e) => evaluator.keyOf(e.decisions) === key)) return;
      population = [...population.slice(0, -1), theirs].sort((x, y) => x.fitness - y.fitness);
    };
    // One generation from `t` (when drawing its chromosomes began): evaluation, selection, then the rival's step.
    const generationStep = async (t: number, chromosomes: Chromosome[], keep: readonly Evaluated[], always = 1, before = spent()) => {
      const evaluated = await evaluateAll(t, chromosomes, always);
      // Kept individuals plus the best new ones; when the time limit cut the generation short, the old population fills it up.
      const fresh = [...keep, ...evaluated].sort((x, y) => x.fitness - y.fitness);
      const next = [...fresh, ...population.slice(keep.length)].slice(0, size);
      population = next.sort((x, y) => x.fitness - y.fitness);
      stepRival(spent() - before);
    };
    await generationStep(t0, first, [], Math.max(1, seedCount), 0);
    const history: GeneflowHistoryEntry[] = [historyEntry(population, 0, spent(), performance.now() - started)];
    let generation = 0;
    let sinceImprovement = 0;
    let restarts = 0;
    let stopReason: GeneflowResult['stopReason'] = 'time-limit';
    const report = () =>
      options.onProgress?.({
        generation,
        bestLatencyMs: population[0]!.result.latencyMs,
        bestFeasible: population[0]!.result.feasible,
        evaluations: spent(),
        restarts,
        elapsedMs: performance.now() - started,
        timeLimitMs,
      });
    report();
    for (;;) {
      if (performance.now() >= deadline) break;
      if (generation >= maxGenerations) {
        stopReason = 'generations';
        break;
      }
      if (spent() >= maxEvaluations) {
        stopReason = 'evaluations';
        break;
      }
      generation++;
      const t = performance.now();
      const previousBest = population[0]!.fitness;
      if (sinceImprovement >= patience) {
        restarts++;
        sinceImprovement = 0;
        chain = Math.min(0.75, chain + 0.1);
        await generationStep(t, renewal(population, restarts), population.slice(0, elites));
      } else {
        const seen = new Set<string>();
        const children: Chromosome[] = [];
        while (children.length < size - elites) children.push(offspring(population, seen));
        await generationStep(t, children, population.slice(0, elites));
      }
      if (population[0]!.fitness < previousBest - 1e-9) {
        sinceImprovement = 0;
        chain = 0.4;
      } else sinceImprovement++;
      history.push(historyEntry(population, generation, spent(), performance.now() - started));
      report();
    }
    const best = population[0]!;
    return {
      plan: makePlan(model, cluster, order, best.decisions, 'geneflow'),
      latencyMs: best.result.latencyMs,
      feasible: best.result.feasible,
      result: best.result,
      history,
      evaluations: spent(),
      structuredSeeds: structuredCount,
      generations: generation,
      restarts,
      searchMs: performance.now() - started - rivalMs,
      stopReason,
    };
  } finally {
    await pool?.close();
  }
}
