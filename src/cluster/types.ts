import type { SplitDim } from '../partition/types.ts';

/**
 * An edge cluster in the router–edge-device architecture: a star whose centre (the router, or gateway) holds the
 * model input, forwards every tensor between devices and collects the output. Definitions: docs/cluster.md.
 */

/**
 * Measured operator times for one machine, written by `memorianova profile` and referenced from a cluster file.
 * Two kinds of entries, used in this order of preference by the latency model (docs/latency.md):
 * - `ops`: milliseconds of whole operators of one model, by operator name; used only for the model whose
 *   fingerprint matches `model.fingerprint` (slices are scaled by their share of the operator's FLOPs);
 * - `opTypes`: effective GFLOP/s per operator type; used for any model.
 * `overheads` (any model) are what running a model cut into steps and slices costs beyond the operators' shares.
 */
export interface DeviceProfile {
  format: 'memorianova-profile';
  version: 1;
  /** Free text naming the machine and runtime that measured it. */
  measuredOn?: string;
  model?: { name: string; fingerprint: string };
  ops?: Record<string, number>;
  opTypes?: Record<string, number>;
  overheads?: ExecutionOverheads;
  /** The execution providers and intra-op threads the sessions it timed used. */
  executionProviders?: ExecutionProvider[];
  threads?: number;
}

/**
 * Costs of executing a model cut into pieces (docs/latency.md, "Steps"), fitted by `memorianova profile` on the
 * machine: each step (one sub-model run) costs `stepMs` plus `msPerMiB` per MiB crossing its border, and a slice
 * of an operator split over several devices along `dim` takes its share of the operator × (1 + `splitPenalty[dim]`)
 * (0 for a dim not listed).
 */
export interface ExecutionOverheads {
  stepMs: number;
  msPerMiB: number;
  splitPenalty: Partial<Record<SplitDim, number>>;
}

export interface Device {
  name: string;
  /** Effective compute throughput in GFLOP/s (1e9 FLOPs per second, a multiply-add counting as 2). */
  gflops: number;
  /** Per operator type multiplier of `gflops` (default 1): how well this device runs that operator. */
  efficiency?: Record<string, number>;
  /** Measured operator times (inlined: a cluster file may give a path, the loader reads it). */
  profile?: DeviceProfile;
  /** Memory available for the model's weights and activations, in MiB (1 MiB = 2^20 bytes). */
  memoryMB: number;
  /** Link device → router, Mbit/s (1e6 bits per second). */
  uplinkMbps: number;
  /** Link router → device, Mbit/s. */
  downlinkMbps: number;
  /**
   * Per-message delay of this device's link, per hop (up or down), in milliseconds: paid after the message's bytes
   * have left, without occupying the link (docs/latency.md, "Links").
   */
  latencyMs: number;
  /**
   * Sustained memory bandwidth one inference thread reaches, GB/s (1e9 bytes/s): with it an operator the profile
   * did not measure costs at least its fusion group's bytes over this bandwidth (roofline, docs/latency.md).
   */
  memoryGBps?: number;
  /** ONNX Runtime execution providers its worker's sessions use, in order of preference (default ['cpu']). */
  executionProviders?: ExecutionProvider[];
  /** Intra-op threads of each of its worker's sessions (default 1). */
  threads?: number;
}

/** Execution providers a device may name: the names onnxruntime-node's session options take (docs/cluster.md). */
export const EXECUTION_PROVIDERS = ['cpu', 'cuda', 'tensorrt', 'coreml', 'dml', 'xnnpack', 'webgpu'] as const;
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];

export interface Router {
  name: string;
  /**
   * Rate at which the router forwards payload, Mbit/s; messages' bytes are forwarded one at a time (serialised).
   * Undefined: forwarding is not a bottleneck (only the `latencyMs` delay per message is charged).
   */
  forwardingMbps?: number;
  /** Per forwarded message delay, milliseconds (does not occupy the router). */
  latencyMs: number;
  /** True: a tensor piece several devices need is uploaded once and delivered to each of them. */
  broadcast: boolean;
}

/**
 * How the devices' links share the air or the wire (docs/latency.md, "Links"):
 * - `switched`: each device has its own full-duplex link to the router (uplink and downlink independent);
 * - `shared`: one access point's channel carries every device's uplink and downlink transmissions, one at a time,
 *   each taking its bytes at that device's rate (its rate when alone on the channel).
 */
export type Medium = 'switched' | 'shared';

export interface Cluster {
  name: string;
  devices: Device[];
  /** Default `switched`. */
  medium?: Medium;
  router: Router;
}

/** Bytes in one MiB: memory limits are given in MiB. */
export const BYTES_PER_MB = 1024 * 1024;

export function deviceMemoryBytes(device: Device): number {
  return Math.floor(device.memoryMB * BYTES_PER_MB);
}
