import highsModule, { type Highs } from 'highs';
import { deviceMemoryBytes } from '../cluster/types.ts';
import { normalizeRatios } from '../geneflow/encoding.ts';
import type { OpDecision, Placement, SplitDim } from '../plan/types.ts';
import { activationInputs, devicesBySpeed, weightBytesOf, type BaselineOutcome, type PlanningContext } from './common.ts';

// The package's types describe a CommonJS module; under ESM its default export is the loader itself.
const highsLoader = highsModule as unknown as () => Promise<Highs>;
let solver: Promise<Highs> | undefined;
const highs = () => (solver ??= highsLoader());

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
 * The per-layer linear program (docs/baselines.md, "LP"): for a device set S (the k fastest devices, every k) and a
 * split dimension, minimise T subject to, for each d in S,
 *   x_d·t_d + in_d(x_d) + x_d·out·8/(up_d·1000) + 2·lat_d + router ≤ T,   Σ x_d = 1,   0 ≤ x_d ≤ memory bound,
 * where t_d is the whole operator's time on d, in_d is x_d·in·8/(down_d·1000) for a spatial split and the whole
 * input for a channel split (every device reads all of it), and the memory bound keeps weights and slices within
 * the device's limit. All (S, dim) blocks go into one LP (their objectives add, each block is independent); the
 * block with the least T wins. Solved by HiGHS.
 */
export async function solveSplit(problem: SplitProblem, cluster: PlanningContext['cluster'], bySpeed: readonly number[]): Promise<SplitSolution | null> {
  const devices = cluster.devices;
  const blocks: Array<{ dim: SplitDim; set: number[] }> = [];
  for (const dim of problem.dims) for (let k = 1; k <= devices.length; k++) blocks.push({ dim, set: bySpeed.slice(0, k) });
  const rows: string[] = [];
  const bounds: string[] = [];
  const kept: number[] = [];
  blocks.forEach(({ dim, set }, b) => {
    const spatial = dim !== 'channels';
    const terms: string[] = [];
    const upper: number[] = [];
    for (const d of set) {
      const device = devices[d]!;
      const memory = deviceMemoryBytes(device);
      const fixedBytes = (spatial ? problem.weightBytes : problem.inputBytes);
      const shareBytes = problem.outputBytes + (spatial ? problem.inputBytes : problem.weightBytes);
      upper.push(fixedBytes > memory ? 0 : Math.min(1, (memory - fixedBytes) / Math.max(1, shareBytes)));
      const inMs = (problem.inputBytes * 8) / (device.downlinkMbps * 1000);
      const perShare = problem.opMs[d]! + (problem.outputBytes * 8) / (device.uplinkMbps * 1000) + (spatial ? inMs : 0);
      const constant = 2 * device.latencyMs + cluster.router.latencyMs + (spatial ? 0 : inMs);
      rows.push(` b${b}d${d}: ${perShare} x${b}_${d} - T${b} <= ${-constant}`);
      terms.push(`x${b}_${d}`);
    }
    if (upper.reduce((s, u) => s + u, 0) < 1) {
      rows.splice(rows.length - set.length, set.length);
      return;
    }
    kept.push(b);
    rows.push(` s${b}: ${terms.join(' + ')} = 1`);
    set.forEach((d, i) => bounds.push(` 0 <= x${b}_${d} <= ${upper[i]}`));
    bounds.push(` T${b} >= 0`);
  });
  if (kept.length === 0) return null;
  const lp = ['Minimize', ` obj: ${kept.map((b) => `T${b}`).join(' + ')}`, 'Subject To', ...rows, 'Bounds', ...bounds, 'End'].join('\n');
  const solution = (await highs()).solve(lp);
  if (solution.Status !== 'Optimal') return null;
  let best: SplitSolution | null = null;
  for (const b of kept) {
    const objectiveMs = solution.Columns[`T${b}`]!.Primal;
    if (best !== null && objectiveMs >= best.objectiveMs - 1e-9) continue;
    const { dim, set } = blocks[b]!;
    const ratios = normalizeRatios(devices.map((_, d) => (set.includes(d) ? Math.max(0, solution.Columns[`x${b}_${d}`]!.Primal) : 0)))!;
    const active = ratios.filter((r) => r > 0);
    best = { placement: active.length === 1 ? { device: ratios.findIndex((r) => r > 0) } : { dim, ratios }, objectiveMs };
  }
  return best;
}

/** Plans greedy fusion tries (simulated) after the LP. */
const FUSION_TRIES = 24;

/**
 * EdgeFlow-style LP + greedy (docs/baselines.md): each operator's split (dimension and ratios) from the per-layer
 * LP, every operator synchronised; then greedy synchronisation: operators in decreasing order of output bytes are
 * fused into their consumers (consumers take the operator's placement, the operator skips synchronisation) when the
 * simulated latency improves, up to FUSION_TRIES simulations. Equal operator problems share one LP solve.
 */
export async function linearProgram({ simulator, evaluator, cluster }: PlanningContext): Promise<BaselineOutcome> {
  const ctx = simulator.context;
  const bySpeed = devicesBySpeed(simulator);
  const cache = new Map<string, Promise<SplitSolution | null>>();
  const placements: Placement[] = [];
  for (let p = 0; p < ctx.order.length; p++) {
    const index = ctx.opIndex[p]!;
    const node = ctx.model.ops[index]!.node;
    const problem: SplitProblem = {
      opMs: cluster.devices.map((_, d) => simulator.opMs[d]![index]!),
      inputBytes: activationInputs(ctx, p).reduce((s, i) => s + i.bytes, 0),
      outputBytes: node.outputs.reduce((s, t) => s + (ctx.model.tensors.get(t)?.bytes ?? 0), 0),
      weightBytes: weightBytesOf(ctx, p),
      dims: ctx.space[p]!.options.map((o) => o.dim),
    };
    const key = JSON.stringify(problem);
    let pending = cache.get(key);
    if (pending === undefined) {
      pending = problem.dims.length === 0 ? Promise.resolve(null) : solveSplit(problem, cluster, bySpeed);
      cache.set(key, pending);
    }
    placements.push((await pending)?.placement ?? { device: bySpeed[0]! });
  }
  let current = evaluator.evaluate(placements.map((placement, p) => ({ op: ctx.order[p]!, placement, sync: true })));
  let tries = 0;
  const outputBytes = (p: number) => ctx.model.ops[ctx.opIndex[p]!]!.node.outputs.reduce((s, t) => s + (ctx.model.tensors.get(t)?.bytes ?? 0), 0);
  const byBytes = ctx.order.map((_, p) => p).sort((a, b) => outputBytes(b) - outputBytes(a) || a - b);
  for (const p of byBytes) {
    if (tries >= FUSION_TRIES) break;
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
  return { best: current, candidates: tries + 1 };
}
