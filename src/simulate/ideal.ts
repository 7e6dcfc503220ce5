import { deviceKind } from '../cluster/kinds.ts';
import type { Cluster } from '../cluster/types.ts';
import { singleDevicePlan } from '../plan/build.ts';
import type { Simulator } from './simulate.ts';
import type { SimulationResult } from './types.ts';

/** One device running the whole model alone: its input's transfer, its compute and its output's upload (ms). */
export interface WholeRun {
  inputMs: number;
  computeMs: number;
  outputMs: number;
}

/**
 * The divisible-load ideal (docs/latency.md, "Ideal split"): the latency if the model's work could be cut in any
 * fractions f_i, device i's share needing only the fraction f_i of the input and producing f_i of the output, with
 * no halos, synchronisations, recomputation or per-message delays. On a shared medium the router sends the shares
 * one after another (fastest device first) and every device finishes at the same time:
 * f_i · W_i = f_{i+1} · (c_{i+1} + W_{i+1}), T = f_1 · (c_1 + W_1), then the output shares take turns on the channel
 * (Σ f_i · o_i). On a switched network shares arrive in parallel: f_i ∝ 1 / (c_i + W_i), T = 1 / Σ 1 / (c_i + W_i),
 * then the slowest upload, max f_i · o_i. The least over the k fastest devices, for every k. A plan that needs no
 * more input for more work than this (a CNN's row split) cannot beat it; it is an estimate, not a bound, for
 * operators whose work needs little of the input (a fully connected layer).
 */
export function idealSplitMs(whole: readonly WholeRun[], medium: Cluster['medium']): number {
  const devices = [...whole].sort((a, b) => a.computeMs - b.computeMs);
  let best = Infinity;
  for (let k = 1; k <= devices.length; k++) {
    const used = devices.slice(0, k);
    let shares: number[];
    if (medium === 'shared') {
      shares = [1];
      for (let i = 1; i < k; i++) shares.push((shares[i - 1]! * used[i - 1]!.computeMs) / (used[i]!.inputMs + used[i]!.computeMs));
    } else shares = used.map((d) => 1 / (d.inputMs + d.computeMs));
    const total = shares.reduce((s, f) => s + f, 0);
    shares = shares.map((f) => f / total);
    const computed = shares[0]! * (used[0]!.inputMs + used[0]!.computeMs);
    const uploads = used.map((d, i) => shares[i]! * d.outputMs);
    const ms = computed + (medium === 'shared' ? uploads.reduce((s, u) => s + u, 0) : Math.max(...uploads));
    best = Math.min(best, ms);
  }
  return best;
}

/**
 * Each device's whole run of the model, from the simulator's single-device plan on it. Devices alike in all but
 * their name run alike, so each kind is simulated once (a 1,000-device cluster of a few kinds takes a few runs).
 */
export function wholeRuns(simulator: Simulator): WholeRun[] {
  const { cluster, context } = simulator;
  const runs = new Map<string, WholeRun>();
  return cluster.devices.map((spec, d) => {
    const kind = deviceKind(spec);
    let run = runs.get(kind);
    if (run === undefined) {
      const result = simulator.run(singleDevicePlan(context.model, cluster, context.order, d).ops, { timeline: false });
      const device = result.devices[d]!;
      run = { inputMs: device.receiveMs, computeMs: device.computeMs, outputMs: device.sendMs };
      runs.set(kind, run);
    }
    return run;
  });
}

/**
 * The busiest channel's airtime in a simulated plan (ms): on a shared medium the one channel carries every upload
 * and download, Σ_d (sendMs + receiveMs); on a switched network the busiest single link, max_d max(sendMs, receiveMs).
 */
export function busiestChannelMs(result: SimulationResult, medium: Cluster['medium']): number {
  const { devices } = result;
  return medium === 'shared'
    ? devices.reduce((sum, d) => sum + d.sendMs + d.receiveMs, 0)
    : Math.max(0, ...devices.map((d) => Math.max(d.sendMs, d.receiveMs)));
}
