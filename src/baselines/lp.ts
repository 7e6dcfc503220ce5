import { solveWithHighs } from '../highs.ts';
import { deviceMemoryBytes } from '../cluster/types.ts';
import type { OpDecision, Placement, SplitDim } from '../partition/types.ts';
import type { Evaluated } from '../geneflow/fitness.ts';
import { SPATIAL_FIRST } from './proportional.ts';
import {
  activationInputs,
  deviceCounts,
  devicesBySpeed,
  pastDeadline,
  ratiosOver,
  weightBytesOf,
  type BaselineOutcome,
  type PlanningContext,
} from './common.ts';

/** One operator's split problem: per device whole-op ms, bytes in and out, weight bytes, the split dims it offers. */
export interface SplitProblem {
  opMs: number[];
  inputBytes: number;
  outputBytes: number;
  weightBytes: number;
  dims: SplitDim[];
}

export interface SplitSolution {
  placement: Placement;
  /** The LP's optimum: the estimated time of the operator's slowest device (ms). */
  objectiveMs: number;
}

/**
 * The per-layer linear programs (docs/baselines.md, "LP"): for each operator, each device set S (the k fastest
 * devices, every k) and each split dimension, minimise T subject to, for each d in S,
 *   x_d·t_d + in_d(x_d) + x_d·out·8/(up_d·1000) + 2·lat_d + router ≤ T,   Σ x_d = 1,   0 ≤ x_d ≤ memory bound,
 * where t_d is the whole operator's time on d, in_d is x_d·in·8/(down_d·1000) for a spatial split and the whole
 * input for a channel split (every device reads all of it), and the memory bound keeps weights and slices within
 * the device's limit. The home device (the fastest, where each layer's input is held and its output gathered)
 * has no transfer terms: x_home·t_home ≤ T. All (operator, S, dim) blocks go into one LP whose objective is the sum of their T (the blocks
 * are independent, so each T is minimised); per operator the block with the least T wins. Solved by HiGHS.
 */
export async function solveSplits(
  problems: readonly SplitProblem[],
  cluster: PlanningContext['cluster'],
  bySpeed: readonly number[],
): Promise<Array<SplitSolution | null>> {
  const devices = cluster.devices;
  const blocks: Array<{ problem: number; dim: SplitDim; set: number[] }> = [];
  const counts = deviceCounts(Math.min(devices.length, LP_MAX_DEVICES), 1);
  problems.forEach((problem, i) => {
    for (const dim of problem.dims) for (const k of counts) blocks.push({ problem: i, dim, set: bySpeed.slice(0, k) });
  });
  const rows: string[] = [];
  const bounds: string[] = [];
  const kept: number[] = [];
  blocks.forEach(({ problem: i, dim, set }, b) => {
    const problem = problems[i]!;
    const spatial = dim !== 'channels';
    const upper = set.map((d) => {
      const memory = deviceMemoryBytes(devices[d]!);
      const fixedBytes = spatial ? problem.weightBytes : problem.inputBytes;
      const shareBytes = problem.outputBytes + (spatial ? problem.inputBytes : problem.weightBytes);
      return fixedBytes > memory ? 0 : Math.min(1, (memory - fixedBytes) / Math.max(1, shareBytes));
    });
    if (upper.reduce((sum, u) => sum + u, 0) < 1) return;
    kept.push(b);
    set.forEach((d, j) => {
      const device = devices[d]!;
      // The home device (the fastest) holds the layer's input and gathers its output: it moves nothing.
      const home = d === bySpeed[0];
      const inMs = home ? 0 : (problem.inputBytes * 8) / (device.downlinkMbps * 1000);
      const perShare = problem.opMs[d]! + (home ? 0 : (problem.outputBytes * 8) / (device.uplinkMbps * 1000)) + (spatial ? inMs : 0);
      const constant = home ? 0 : 2 * device.latencyMs + cluster.router.latencyMs + (spatial ? 0 : inMs);
      rows.push(` b${b}d${d}: ${perShare} x${b}_${d} - T${b} <= ${-constant}`);
      bounds.push(` 0 <= x${b}_${d} <= ${upper[j]}`);
    });
    rows.push(` s${b}: ${set.map((d) => `x${b}_${d}`).join(' + ')} = 1`);
    bounds.push(` T${b} >= 0`);
  });
  const solutions: Array<SplitSolution | null> = problems.map(() => null);
  if (kept.length === 0) return solutions;
  const lp = ['Minimize', ` obj: ${kept.map((b) => `T${b}`).join(' + ')}`, 'Subject To', ...rows, 'Bounds', ...bounds, 'End'].join('\n');
  const solution = await solveWithHighs(lp, "the LP baseline's split problem");
  if (solution.Status !== 'Optimal') return solutions;
  for (const b of kept) {
    const { problem: i, dim, set } = blocks[b]!;
    const objectiveMs = solution.Columns[`T${b}`]!.Primal;
    const current = solutions[i];
    if (current != null && objectiveMs >= current.objectiveMs - 1e-9) continue;
    const ratios = ratiosOver(devices.length, set, (d) => Math.max(0, solution.Columns[`x${b}_${d}`]!.Primal));
    const active = ratios.filter((r) => r > 0);
    solutions[i] = { placement: active.length === 1 ? { device: ratios.findIndex((r) => r > 0) } : { dim, ratios }, objectiveMs };
  }
  return solutions;
}

/** The LP's device sets are the k fastest for k in deviceCounts up to this many devices (its size grows with k²). */
export const LP_MAX_DEVICES = 8;

/** Plans greedy fusion tries (simulated) after the LP. */
const FUSION_TRIES = 12;

/** Every operator's split from the LP, split dimension chosen by `preference` (the first the operator offers). */
async function lpPlan({ simulator, evaluator, cluster }: PlanningContext, preference: readonly SplitDim[]): Promise<Evaluated> {
  const ctx = simulator.context;
  const bySpeed = devicesBySpeed(simulator);
  // Equal operator problems (repeated blocks and layers) share one LP block.
  const keys = new Map<string, number>();
  const problems: SplitProblem[] = [];
  const problemOf = ctx.order.map((_, p) => {
    const index = ctx.opIndex[p]!;
    const node = ctx.model.ops[index]!.node;
    const dim = preference.find((d) => ctx.space[p]!.options.some((o) => o.dim === d));
    const problem: SplitProblem = {
      opMs: cluster.devices.map((_, d) => simulator.opMs[d]![index]!),
      inputBytes: activationInputs(ctx, p).reduce((s, i) => s + i.bytes, 0),
      outputBytes: node.outputs.reduce((s, t) => s + (ctx.model.tensors.get(t)?.bytes ?? 0), 0),
      weightBytes: weightBytesOf(ctx, p),
      dims: dim === undefined ? [] : [dim],
    };
    const key = JSON.stringify(problem);
    if (!keys.has(key)) keys.set(key, problems.push(problem) - 1);
    return keys.get(key)!;
  });
  const solutions = await solveSplits(problems, cluster, bySpeed);
  const placements: Placement[] = problemOf.map((i) => solutions[i]?.placement ?? { device: bySpeed[0]! });
  return evaluator.evaluate(placements.map((placement, p) => ({ op: ctx.order[p]!, placement, sync: true })));
}

/**
 * EdgeFlow-style LP + greedy (docs/baselines.md): each operator's ratios from the per-layer LP (split dimension:
 * spatial first, then channels first, as in `proportional`; the better plan is kept), every operator synchronised;
 * then greedy synchronisation: operators in decreasing order of output bytes are fused into their consumers
 * (consumers take the operator's placement, the operator skips synchronisation) when the simulated latency
 * improves, up to FUSION_TRIES simulations.
 */
export async function linearProgram(context: PlanningContext): Promise<BaselineOutcome> {
  const { simulator, evaluator } = context;
  const ctx = simulator.context;
  const plans: Evaluated[] = [];
  for (const preference of SPATIAL_FIRST)
    if (plans.length === 0 || !pastDeadline(context.deadline)) plans.push(await lpPlan(context, preference));
  let current = plans.reduce((a, b) => (b.fitness < a.fitness ? b : a));
  let tries = 0;
  const outputBytes = (p: number) =>
    ctx.model.ops[ctx.opIndex[p]!]!.node.outputs.reduce((s, t) => s + (ctx.model.tensors.get(t)?.bytes ?? 0), 0);
  const byBytes = ctx.order.map((_, p) => p).sort((a, b) => outputBytes(b) - outputBytes(a) || a - b);
  for (const p of byBytes) {
    if (tries >= FUSION_TRIES || pastDeadline(context.deadline)) break;
    const uses = ctx.consumers[p]!.flat();
    if (uses.length === 0 || ctx.isGraphOutput[p]!.some(Boolean)) continue;
    const next: OpDecision[] = [...current.decisions];
    const own = next[p]!.placement;
    let possible = true;
    for (const use of uses) {
      const options = ctx.space[use.position]!.options;
      if (!('device' in own) && !options.some((o) => o.dim === own.dim)) possible = false;
      next[use.position] = { ...next[use.position]!, placement: own };
    }
    if (!possible) continue;
    next[p] = { ...next[p]!, sync: false };
    tries++;
    const candidate = evaluator.evaluate(next);
    if (candidate.fitness < current.fitness) current = candidate;
  }
  return { best: current, candidates: tries + plans.length };
}
