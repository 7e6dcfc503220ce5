import type { Cluster } from '../cluster/types.ts';
import { randomChromosome, randomInt, type Chromosome } from '../geneflow/encoding.ts';
import { MUTATIONS, mutate, mutationSpace } from '../geneflow/operators.ts';
import { loadModel } from '../model/load.ts';
import { repairDecisions } from '../partition/slices.ts';
import { mulberry32 } from '../random.ts';
import { createSimulator, type Simulator } from './simulate.ts';
import type { SimulationResult } from './types.ts';

/**
 * The simulator equivalence cases (src/simulate/equivalence.test.ts): seeded random and mutated plans of three zoo
 * models on two clusters defined here (one on a shared medium, one switched without broadcast; not presets, so re-sourced presets do not move them). The results of
 * these plans are pinned in equivalence.fixture.json by `node --import tsx scripts/pin-simulator.ts`, run only
 * when a documented model change makes them differ.
 */
export const EQUIVALENCE_MODELS = ['resnet50', 'mobilenetv3-large', 'bert-base'];
export const PLANS_PER_WORKLOAD = 50;

export const EQUIVALENCE_CLUSTERS: Cluster[] = [
  {
    name: 'pi4-wifi',
    devices: [1, 2, 3, 4].map((i) => ({ name: `pi${i}`, gflops: 10, memoryMB: 1024, uplinkMbps: 100, downlinkMbps: 100, latencyMs: 10 })),
    router: { name: 'router', forwardingMbps: 600, latencyMs: 0.5, broadcast: true },
    medium: 'shared',
  },
  {
    name: 'mixed3-small',
    devices: [
      { name: 'a', gflops: 8, memoryMB: 40, uplinkMbps: 50, downlinkMbps: 80, latencyMs: 3 },
      { name: 'b', gflops: 30, memoryMB: 60, uplinkMbps: 200, downlinkMbps: 200, latencyMs: 1 },
      { name: 'c', gflops: 60, memoryMB: 400, uplinkMbps: 300, downlinkMbps: 150, latencyMs: 2 },
    ],
    router: { name: 'router', latencyMs: 0.2, broadcast: false },
  },
];

/** What is pinned of one simulation: latency, per-device peaks, bytes and messages. */
export interface PinnedResult {
  latencyMs: number;
  devicePeakBytes: number[];
  bytesMoved: number;
  messages: number;
  computeMs: number[];
}

export function pinnedOf(result: SimulationResult): PinnedResult {
  return {
    latencyMs: result.latencyMs,
    devicePeakBytes: result.devicePeakBytes,
    bytesMoved: result.bytesMoved,
    messages: result.messages,
    computeMs: result.devices.map((d) => d.computeMs),
  };
}

/** The seeded plans of one case: PLANS_PER_WORKLOAD random plans, then as many one-mutation children (repaired). */
export function equivalencePlans(simulator: Simulator, seed: number): Chromosome[] {
  const ctx = simulator.context;
  const deviceCount = simulator.cluster.devices.length;
  const random = mulberry32(seed);
  const plans: Chromosome[] = [];
  for (let i = 0; i < PLANS_PER_WORKLOAD; i++) plans.push(repairDecisions(ctx, randomChromosome(ctx, random, deviceCount)));
  const space = mutationSpace(ctx, simulator.opMs, simulator.cluster);
  const population = plans.slice(0, 8);
  for (let i = 0; i < PLANS_PER_WORKLOAD; i++) {
    const k = randomInt(random, population.length);
    population[k] = repairDecisions(ctx, mutate(space, population[k]!, MUTATIONS[randomInt(random, MUTATIONS.length)]!, random));
    plans.push(population[k]!);
  }
  return plans;
}

/** Every case: key `model@cluster`, its simulator and its plans. */
export function equivalenceCases(): Array<{ key: string; simulator: Simulator; plans: Chromosome[] }> {
  return EQUIVALENCE_MODELS.flatMap((name, m) => {
    const model = loadModel(name);
    const order = model.ops.map((op) => op.node.name);
    return EQUIVALENCE_CLUSTERS.map((cluster, c) => {
      const simulator = createSimulator(model, cluster, order);
      return { key: `${name}@${cluster.name}`, simulator, plans: equivalencePlans(simulator, 1 + 10 * m + c) };
    });
  });
}
