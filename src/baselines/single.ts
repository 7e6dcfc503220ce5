import { bestOf, wholeOn, type BaselineOutcome, type PlanningContext } from './common.ts';

/** The whole model on one device: every device is simulated and the best (feasible first, then fastest) wins. */
export function singleDevice({ simulator, evaluator, cluster, deadline }: PlanningContext): BaselineOutcome {
  return bestOf(
    evaluator,
    cluster.devices.map((_, d) => wholeOn(simulator.context, d)),
    deadline,
  );
}
