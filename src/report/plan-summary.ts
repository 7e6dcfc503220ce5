import type { Cluster } from '../cluster/types.ts';
import type { SplitDim } from '../partition/types.ts';
import { placementShares } from '../partition/slices.ts';
import { deviceMemoryNeeds, geneflowGain, type AllMethodsResult, type MethodResult } from '../pipeline/methods.ts';
import type { Plan } from '../plan/types.ts';
import { busiestChannelMs, idealSplitMs } from '../simulate/ideal.ts';

/** A run of consecutive operators (in the plan's order) with the same placement: one row of the report's plan table. */
export interface PlanStage {
  first: string;
  last: string;
  operators: number;
  /** Devices taking part (cluster order). */
  devices: string[];
  /** The split dimension, or null when the stage runs whole on one device. */
  split: SplitDim | 'grid' | null;
  /** Per taking-part device, its share of each split operator's output (sums to 1), in `devices` order. */
  shares: number[];
  /** Operators whose output is materialised and sent on (synchronisation points); the others are fused. */
  syncs: number;
}

function placementKey(decision: Plan['ops'][number]): string {
  const p = decision.placement;
  if ('device' in p) return `d${p.device}`;
  if (p.dim === 'grid') return `grid:${p.rows.join(',')}/${p.cols.join(',')}/${p.devices.join(',')}`;
  const total = p.ratios.reduce((a, b) => a + b, 0);
  return `${p.dim}:${p.ratios.map((r) => (r / total).toFixed(6)).join(',')}`;
}

/** The plan as stages: maximal runs of consecutive operators placed alike (docs/plan-format.md). */
export function planStages(plan: Plan, cluster: Cluster): PlanStage[] {
  const stages: PlanStage[] = [];
  let key = '';
  for (const decision of plan.ops) {
    const k = placementKey(decision);
    const current = stages[stages.length - 1];
    if (current !== undefined && k === key) {
      current.last = decision.op;
      current.operators++;
      if (decision.sync) current.syncs++;
      continue;
    }
    key = k;
    const p = decision.placement;
    let devices: string[];
    let shares: number[];
    let split: SplitDim | 'grid' | null = null;
    if ('device' in p) {
      devices = [cluster.devices[p.device]!.name];
      shares = [1];
    } else {
      const taking = placementShares(p, cluster.devices.length)
        .map((r, d) => ({ r, d }))
        .filter(({ r }) => r > 0);
      devices = taking.map(({ d }) => cluster.devices[d]!.name);
      shares = taking.map(({ r }) => r);
      split = taking.length > 1 ? p.dim : null;
    }
    stages.push({ first: decision.op, last: decision.op, operators: 1, devices, split, shares, syncs: decision.sync ? 1 : 0 });
  }
  return stages;
}

/** Devices that run any part of the plan. */
export function devicesUsed(plan: Plan, cluster: Cluster): string[] {
  const used = new Set<number>();
  for (const { placement: p } of plan.ops) {
    if ('device' in p) used.add(p.device);
    else placementShares(p, cluster.devices.length).forEach((r, d) => r > 0 && used.add(d));
  }
  return cluster.devices.filter((_, d) => used.has(d)).map((d) => d.name);
}

const ms = (value: number) => `${value.toFixed(1)} ms`;
const pct = (value: number) => `${(value * 100).toFixed(1)}%`;
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/**
 * Why not faster (docs/report.md): `idealMs` = the divisible-load ideal on this cluster (`idealSplitMs` over the
 * devices' whole runs), `channelBusyShare` = the chosen plan's busiest channel airtime (`busiestChannelMs`) / its latency.
 */
export function idealFigures(result: AllMethodsResult, cluster: Cluster): { idealMs: number; channelBusyShare: number } {
  const best = result.methods.find((m) => m.name === result.best)!;
  return {
    idealMs: idealSplitMs(result.whole, cluster.medium),
    channelBusyShare: best.latencyMs > 0 ? busiestChannelMs(best.simulation, cluster.medium) / best.latencyMs : 0,
  };
}

/** What "freely divisible" means, said inline wherever the ideal split is named. */
export const DIVISIBLE =
  'the work cut in any shares, each device sent only its share of the input and nothing else: no halos, no synchronisations';

/** The ideal split next to the chosen plan, and how busy its busiest channel is: one sentence. */
function idealSentence(result: AllMethodsResult, cluster: Cluster, used: string[]): string {
  const best = result.methods.find((m) => m.name === result.best)!;
  const { idealMs, channelBusyShare } = idealFigures(result, cluster);
  const channel =
    cluster.medium === 'shared' ? 'the one channel every transfer shares' : "the busiest link, one device's uplink or downlink";
  const busy = `the busiest channel (${channel}) carries data for ${pct(channelBusyShare)} of the plan's ${ms(best.latencyMs)}`;
  if (used.length === 1) {
    const others = result.whole.filter((_, d) => cluster.devices[d]!.name !== used[0]);
    const input =
      others.length === 0 ? '' : `; the input alone takes ${ms(Math.min(...others.map((w) => w.inputMs)))} to reach another device`;
    const speedup = best.latencyMs / idealMs;
    const faster = speedup < 1.005 ? 'no faster than' : `${speedup.toFixed(2)}× faster than`;
    return `A freely divisible split (${DIVISIBLE}) would be ${faster} this one device (${ms(idealMs)})${input}, and ${busy}.`;
  }
  const single = result.methods.find((m) => m.name === 'single');
  return single !== undefined && single.feasible
    ? `A freely divisible split (${DIVISIBLE}) would be ${(single.latencyMs / idealMs).toFixed(2)}× the speed of the best single device (${ms(idealMs)}), against this plan's ${(single.latencyMs / best.latencyMs).toFixed(2)}×; ${busy}.`
    : `A freely divisible split (${DIVISIBLE}) would take ${ms(idealMs)}, against this plan's ${ms(best.latencyMs)}; ${busy}.`;
}

/** What the report says first: the decision in words, and a warning when something is not as it should be. */
export function decisionSummary(result: AllMethodsResult, cluster: Cluster): { sentences: string[]; warning: string | null } {
  const best = result.methods.find((m) => m.name === result.best)!;
  const geneflow = result.methods.find((m) => m.name === 'geneflow');
  const sentences: string[] = [];
  let warning: string | null = null;
  if (!best.feasible) {
    const needs = deviceMemoryNeeds(cluster, best)
      .filter((n) => n.overBytes > 0)
      .map((n) => `${n.device} needs ${mib(n.peakBytes)} of its ${mib(n.limitBytes)}`);
    warning = `No method found a plan within every device's memory. The closest (${best.name}) still overflows: ${needs.join('; ')}.`;
  } else if (geneflow !== undefined && geneflow.name !== best.name && geneflow.latencyMs > best.latencyMs) {
    warning = `GenEFlow is not the best method here: ${best.name} is ${pct(geneflow.latencyMs / best.latencyMs - 1)} faster (${ms(best.latencyMs)} against ${ms(geneflow.latencyMs)}).`;
  }
  const used = devicesUsed(best.plan, cluster);
  const stages = planStages(best.plan, cluster);
  const syncs = stages.reduce((n, s) => n + s.syncs, 0);
  const bound = `${(best.latencyMs / result.lowerBoundMs).toFixed(2)}× the lower bound of ${ms(result.lowerBoundMs)}`;
  if (used.length === 1) {
    const splits = result.methods.filter((m) => m.feasible && devicesUsed(m.plan, cluster).length > 1);
    const fastestSplit = splits.reduce<MethodResult | undefined>(
      (a, b) => (a === undefined || b.latencyMs < a.latencyMs ? b : a),
      undefined,
    );
    sentences.push(
      `Decision: run the whole model on one device, ${used[0]} (${best.name}'s plan): ${ms(best.latencyMs)} simulated, ${bound}.`,
      fastestSplit === undefined
        ? 'No plan that splits the model over several devices fits their memory.'
        : `Splitting is slower here: the fastest method's plan that uses several devices (${fastestSplit.name}, ${devicesUsed(fastestSplit.plan, cluster).length} devices) takes ${ms(fastestSplit.latencyMs)}, ${pct(fastestSplit.latencyMs / best.latencyMs - 1)} more — what the links cost outweighs what the other devices add.`,
      idealSentence(result, cluster, used),
    );
  } else {
    sentences.push(
      `Decision: split the model over ${used.length} of the ${cluster.devices.length} devices (${used.join(', ')}) in ${stages.length} stages with ${syncs} synchronisation points (${best.name}'s plan): ${ms(best.latencyMs)} simulated, ${bound}.`,
    );
    const tiled = best.plan.ops.filter((d) => d.tiles !== undefined);
    if (tiled.length > 0)
      sentences.push(
        `${tiled.length === 1 ? 'One fused stretch runs' : `${tiled.length} fused stretches run`} as sequential sub-tiles on each device to save memory (${tiled.map((d) => `${d.tiles} for the stretch ending at ${d.op}`).join(', ')}; docs/plan-format.md, "Tiles").`,
      );
    const single = result.methods.find((m) => m.name === 'single');
    if (single !== undefined && single.feasible)
      sentences.push(
        `That is ${(single.latencyMs / best.latencyMs).toFixed(2)}× the speed of the best single device (${ms(single.latencyMs)}).`,
      );
    sentences.push(idealSentence(result, cluster, used));
    if (single !== undefined)
      sentences.push(
        `Memory: at most ${mib(Math.max(...best.devicePeakBytes))} on a device, against ${mib(Math.max(...single.devicePeakBytes))} for the whole model on one${single.feasible ? '' : ', more than that device holds'}.`,
      );
  }
  const gain = geneflowGain(result.methods);
  if (gain !== undefined)
    sentences.push(
      gain.gain === 0
        ? `GenEFlow's plan is as fast as the best other method's (${gain.baseline}, random search included).`
        : `GenEFlow against the best other method (${gain.baseline}, random search included): ${gain.gain > 0 ? `${pct(gain.gain)} lower latency` : `${pct(-gain.gain)} higher latency`}.`,
    );
  return { sentences, warning };
}
