// node --import tsx scripts/local-search.ts <model> <plan.json>: how far a plan is from a local optimum of the
// simulator. From the plan's decisions, first-improvement hill climbing: for every run of consecutive operators
// split with the same shares, move 4 or 1.5 points of share from one device to another; for every operator, toggle
// its synchronisation; repeat until a round improves nothing. Prints the latency after each round (docs/baselines.md).
import { MemoriaNovaError } from '../src/errors.ts';
import { loadModel } from '../src/model/load.ts';
import type { OpDecision } from '../src/partition/types.ts';
import { readPlan } from '../src/plan/io.ts';
import { createSimulator } from '../src/simulate/simulate.ts';

const [modelName, planPath] = process.argv.slice(2);
if (modelName === undefined || planPath === undefined) {
  console.error('usage: node --import tsx scripts/local-search.ts <model> <plan.json>');
  process.exit(1);
}
const model = loadModel(modelName);
const plan = readPlan(planPath, model);
const simulator = createSimulator(model, plan.cluster, plan.order);
const latency = (ops: OpDecision[]) => {
  try {
    return simulator.run(ops, { timeline: false }).latencyMs;
  } catch (error) {
    if (error instanceof MemoriaNovaError) return Infinity; // a toggle the plan rules do not allow
    throw error;
  }
};
const sharesKey = (o: OpDecision) => ('ratios' in o.placement ? `${o.placement.dim}:${o.placement.ratios.join('/')}` : null);
let ops = plan.ops.map((o) => structuredClone(o));
let best = latency(ops);
console.log(`start ${best.toFixed(1)} ms`);
const runs: number[][] = [];
ops.forEach((o, i) => {
  const key = sharesKey(o);
  if (key !== null && i > 0 && key === sharesKey(ops[i - 1]!)) runs[runs.length - 1]!.push(i);
  else if (key !== null) runs.push([i]);
});
let evaluations = 0;
for (let round = 1; ; round++) {
  let improved = false;
  for (const run of runs) {
    const placement = ops[run[0]!]!.placement as { dim: string; ratios: number[] };
    for (let from = 0; from < placement.ratios.length; from++)
      for (let to = 0; to < placement.ratios.length; to++)
        for (const step of [0.04, 0.015]) {
          const current = ops[run[0]!]!.placement as { ratios: number[] };
          if (from === to || current.ratios[from]! < step) continue;
          const ratios = [...current.ratios];
          ratios[from]! -= step;
          ratios[to]! += step;
          const trial = [...ops];
          for (const i of run)
            trial[i] = { ...ops[i]!, placement: { ...(ops[i]!.placement as object), ratios } as OpDecision['placement'] };
          const ms = latency(trial);
          evaluations++;
          if (ms < best - 1e-6) [best, ops, improved] = [ms, trial, true];
        }
  }
  for (let i = 0; i < ops.length; i++) {
    const trial = [...ops];
    trial[i] = { ...ops[i]!, sync: !ops[i]!.sync };
    const ms = latency(trial);
    evaluations++;
    if (ms < best - 1e-6) [best, ops, improved] = [ms, trial, true];
  }
  console.log(`round ${round}: ${best.toFixed(1)} ms after ${evaluations} plans`);
  if (!improved) break;
}
