import { deviceMemoryBytes } from '../cluster/types.ts';
import { activationInputs, decisionsOf, transferMs, weightBytesOf, type BaselineOutcome, type PlanningContext } from './common.ts';

/**
 * HEFT list scheduling of whole operators (Topcuoglu et al., docs/baselines.md). Upward rank of an operator = its
 * mean time over the devices + the largest (mean transfer time of an output edge + the consumer's rank); operators
 * are taken in decreasing rank and each goes to the device where it finishes earliest, given when its inputs arrive
 * (no transfer on the same device) and when the device is free, among devices whose memory still holds its weights.
 * The simulator then runs the placements in the plan's operator order.
 */
export function heft({ simulator, evaluator, cluster }: PlanningContext): BaselineOutcome {
  const ctx = simulator.context;
  const n = ctx.order.length;
  const devices = cluster.devices;
  const D = devices.length;
  const ms = (p: number, d: number) => simulator.opMs[d]![ctx.opIndex[p]!]!;
  // The mean over ordered pairs a ≠ b of transferMs(a, b) = up(a) + forward + down(b) separates into the mean
  // upload plus the mean forward-and-download: O(D) per edge, not O(D²).
  const meanTransfer = (bytes: number) => {
    if (D < 2) return 0;
    let sum = 0;
    for (const device of devices) sum += transferMs(cluster, device, null, bytes) + transferMs(cluster, null, device, bytes);
    return sum / D;
  };
  const inputs = ctx.order.map((_, p) => activationInputs(ctx, p));
  const successors: Array<Array<{ position: number; bytes: number }>> = ctx.order.map(() => []);
  inputs.forEach((list, p) => list.forEach((i) => i.producer >= 0 && successors[i.producer]!.push({ position: p, bytes: i.bytes })));
  const rank = new Array<number>(n).fill(0);
  for (let p = n - 1; p >= 0; p--) {
    let mean = 0;
    for (let d = 0; d < D; d++) mean += ms(p, d) / D;
    let tail = 0;
    for (const s of successors[p]!) tail = Math.max(tail, meanTransfer(s.bytes) + rank[s.position]!);
    rank[p] = mean + tail;
  }
  // Decreasing rank is topological (a producer outranks its consumers); ties keep the order.
  const schedule = ctx.order.map((_, p) => p).sort((a, b) => rank[b]! - rank[a]! || a - b);
  const device = new Array<number>(n).fill(-1);
  const finish = new Array<number>(n).fill(0);
  const free = new Array<number>(D).fill(0);
  const weights = new Array<number>(D).fill(0);
  for (const p of schedule) {
    const w = weightBytesOf(ctx, p);
    // Earliest finish among devices that still hold the weights; among all devices when none does.
    let best = -1;
    let bestFinish = Number.POSITIVE_INFINITY;
    let bestFits = false;
    for (let d = 0; d < D; d++) {
      let ready = free[d]!;
      for (const input of inputs[p]!) {
        const arrives =
          input.producer < 0
            ? transferMs(cluster, null, devices[d]!, input.bytes)
            : finish[input.producer]! +
              (device[input.producer] === d ? 0 : transferMs(cluster, devices[device[input.producer]!]!, devices[d]!, input.bytes));
        ready = Math.max(ready, arrives);
      }
      const done = ready + ms(p, d);
      const fits = weights[d]! + w <= deviceMemoryBytes(devices[d]!);
      if ((fits && !bestFits) || (fits === bestFits && done < bestFinish)) {
        best = d;
        bestFinish = done;
        bestFits = fits;
      }
    }
    device[p] = best;
    finish[p] = bestFinish;
    free[best] = bestFinish;
    weights[best]! += w;
  }
  return {
    best: evaluator.evaluate(
      decisionsOf(
        ctx,
        device.map((d) => ({ device: d })),
      ),
    ),
    candidates: 1,
  };
}
