// Plan-evaluation speed: CPU ms per evaluation of a FRESH plan (what GenEFlow pays per fitness evaluation), per model.
// Usage: node --import tsx bench/simulate-speed.ts [--cluster homo4] [--plans 300] [--seed 1] [--repeat 3] [model ...]
//
// Two workloads per model, each on its own simulator (so memos start empty) and evaluator:
// - random: plans drawn like GenEFlow's random individuals (randomChromosome);
// - mutated: a walk of GenEFlow's mutations: each plan is one random mutation (operators.ts) of a plan of a
//   population of 16 (initially random), and replaces it, as a GA's children replace their parents.
// Plans are generated before timing and deduplicated after repair, so every timed evaluation is a plan the
// evaluator has never seen (no whole-plan memo hit); the simulator's internal memos (slice rows, routes) work
// as they do in a search. The time covers Evaluator.evaluate: repair, key, simulation, fitness. Each workload runs
// `repeat` times from scratch (new simulator, same plans) and the fastest repetition is reported, since the machine
// is shared.
import { parseArgs } from 'node:util';
import { loadCluster } from '../src/cluster/load.ts';
import { randomChromosome, randomInt, type Chromosome } from '../src/geneflow/encoding.ts';
import { Evaluator } from '../src/geneflow/fitness.ts';
import { MUTATIONS, mutate, mutationSpace } from '../src/geneflow/operators.ts';
import { loadModel } from '../src/model/load.ts';
import { mulberry32 } from '../src/random.ts';
import { createSimulator } from '../src/simulate/simulate.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    cluster: { type: 'string', default: 'homo4' },
    plans: { type: 'string', default: '300' },
    seed: { type: 'string', default: '1' },
    repeat: { type: 'string', default: '3' },
  },
});
const models = positionals.length > 0 ? positionals : ['resnet50', 'vgg13', 'yolov2', 'mobilenetv3-large', 'bert-base', 'gpt2'];
const clusterName = values.cluster!;
const planCount = Number(values.plans);
const seed = Number(values.seed);
const repeat = Number(values.repeat);
const cluster = loadCluster(clusterName);
const deviceCount = cluster.devices.length;

function fresh(keyOf: (c: Chromosome) => string, draw: () => Chromosome, planCount: number): Chromosome[] {
  const seen = new Set<string>();
  const plans: Chromosome[] = [];
  for (let tries = 0; plans.length < planCount && tries < 20 * planCount; tries++) {
    const plan = draw();
    const key = keyOf(plan);
    if (key === '' || seen.has(key)) continue;
    seen.add(key);
    plans.push(plan);
  }
  return plans;
}

function measure(
  model: ReturnType<typeof loadModel>,
  workload: 'random' | 'mutated',
  seed: number,
  planCount: number,
): { msPerEval: number; plans: number } {
  const order = model.ops.map((op) => op.node.name);
  const simulator = createSimulator(model, cluster, order);
  const ctx = simulator.context;
  const evaluator = new Evaluator(simulator);
  const random = mulberry32(seed);
  let plans: Chromosome[];
  if (workload === 'random')
    plans = fresh(
      (c) => evaluator.keyOf(c),
      () => randomChromosome(ctx, random, deviceCount),
      planCount,
    );
  else {
    const space = mutationSpace(ctx, simulator.opMs, cluster);
    const population = Array.from({ length: 16 }, () => randomChromosome(ctx, random, deviceCount));
    // The parents are evaluated first (untimed), as a GA's population is before its children are.
    for (const parent of population) evaluator.evaluate(parent);
    plans = fresh(
      (c) => {
        const key = evaluator.keyOf(c);
        return evaluator.known(key) === undefined ? key : '';
      },
      () => {
        const i = randomInt(random, population.length);
        const child = mutate(space, population[i]!, MUTATIONS[randomInt(random, MUTATIONS.length)]!, random);
        population[i] = child;
        return child;
      },
      planCount,
    );
  }
  const before = evaluator.evaluations;
  const start = process.cpuUsage();
  for (const plan of plans) evaluator.evaluate(plan);
  const cpu = process.cpuUsage(start);
  if (evaluator.evaluations - before !== plans.length)
    throw new Error(`expected ${plans.length} fresh evaluations, got ${evaluator.evaluations}`);
  return { msPerEval: (cpu.user + cpu.system) / 1000 / plans.length, plans: plans.length };
}

console.log(
  `Fresh-plan evaluation speed on ${clusterName}, seed ${seed}, up to ${planCount} plans per workload, fastest of ${repeat} (CPU time)`,
);
console.log('');
console.log('| model | ops | random ms/eval | random evals/s | mutated ms/eval | mutated evals/s |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const name of models) {
  const model = loadModel(name);
  // Warm-up (JIT) on other plans, not timed.
  measure(model, 'random', seed + 1000, 40);
  measure(model, 'mutated', seed + 1000, 40);
  const fastest = (workload: 'random' | 'mutated') => {
    const runs = Array.from({ length: repeat }, () => measure(model, workload, seed, planCount));
    return runs.reduce((a, b) => (b.msPerEval < a.msPerEval ? b : a));
  };
  const random = fastest('random');
  const mutated = fastest('mutated');
  const cells = [random, mutated].flatMap((r) => [r.msPerEval.toFixed(3), Math.round(1000 / r.msPerEval).toLocaleString('en-US')]);
  console.log(`| ${name} | ${model.ops.length} | ${cells.join(' | ')} |`);
}
