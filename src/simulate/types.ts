export type TimelineKind = 'compute' | 'send' | 'receive' | 'forward' | 'idle';

/** One interval on a lane of the timeline (a device, or the router). Times in ms from the request's arrival. */
export interface TimelineEvent {
  /** Device index, or -1 for the router. */
  device: number;
  lane: string;
  kind: TimelineKind;
  startMs: number;
  endMs: number;
  /** compute: the operator; send/receive/forward: the tensor moved. */
  op?: string;
  tensor?: string;
  bytes?: number;
  /** send/receive: the other end ("router" for the model input and output). */
  peer?: string;
}

export interface MemoryViolation {
  device: number;
  deviceName: string;
  peakBytes: number;
  limitBytes: number;
}

/** Per device totals (milliseconds, FLOPs, bytes). idleMs = latencyMs − computeMs (time the processor waits). */
export interface DeviceBreakdown {
  device: string;
  computeMs: number;
  sendMs: number;
  receiveMs: number;
  idleMs: number;
  flops: number;
  bytesSent: number;
  bytesReceived: number;
  weightBytes: number;
  activationPeakBytes: number;
}

/**
 * The components of the latency lower bound (docs/latency.md, "Lower bound"):
 * lowerBoundMs = max(computeMs, ioMs + criticalPathMs, outputMs, inputMs).
 */
export interface LowerBound {
  /** The least time the devices need for the work: over their best rates, each starting when the input can first reach it, and as the busiest device of the best fractional split of the operators. */
  computeMs: number;
  criticalPathMs: number;
  /** The delays every request pays: one forward and one download before any work, one upload after. */
  ioMs: number;
  /** The graph outputs' bytes over the uplinks' capacity, after the earliest input arrival (0 without outputs). */
  outputMs: number;
  /** The graph inputs read whole, downloaded over the downlinks (on a shared medium with the outputs' airtime); 0 if none. */
  inputMs: number;
}

export interface SimulationResult {
  /** Request arrival at the router to the last output piece arriving at the router. */
  latencyMs: number;
  lowerBoundMs: number;
  lowerBound: LowerBound;
  /** True when no device's peak memory exceeds its limit. */
  feasible: boolean;
  /** Per device: weights of its slices + peak of its live activations (docs/latency.md, "Memory"). */
  devicePeakBytes: number[];
  violations: MemoryViolation[];
  devices: DeviceBreakdown[];
  /** Payload bytes delivered to devices and to the router, and the number of messages. */
  bytesMoved: number;
  messages: number;
  /** Present unless the caller turned it off (`timeline: false`, what search loops do). */
  timeline?: TimelineEvent[];
}

export interface SimulateOptions {
  /** Record the per-device timeline (default true). */
  timeline?: boolean;
}
