import type WebSocket from 'ws';
import { hopMs } from '../simulate/latency.ts';

/** A link's emulated rate and per-message latency (the cluster file's uplinkMbps/downlinkMbps and latencyMs). */
export interface LinkSpec {
  mbps: number;
  latencyMs: number;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/**
 * An emulated serial link (docs/runtime.md, "Link emulation"): a token bucket that fills at `mbps` and holds no
 * burst, plus a fixed per-message latency, so each message occupies the link for exactly the latency model's hop
 * time `latencyMs + bytes × 8 / (mbps × 1000)` and messages queue behind each other in FIFO order. It only keeps the
 * schedule: `reserve` says when a message ready at `readyAt` has crossed; the caller waits (once) for the last hop.
 */
export class EmulatedLink {
  private freeAt = 0;
  /** Total time messages occupied the link (ms). */
  busyMs = 0;

  constructor(readonly spec: LinkSpec) {}

  /** Books the link for a message of `bytes` ready at `readyAt` (performance.now() time); returns when it has crossed. */
  reserve(readyAt: number, bytes: number): number {
    const start = Math.max(readyAt, this.freeAt);
    const duration = hopMs(bytes, this.spec.mbps, this.spec.latencyMs);
    this.freeAt = start + duration;
    this.busyMs += duration;
    return this.freeAt;
  }

  reset(): void {
    this.freeAt = 0;
    this.busyMs = 0;
  }
}

/** Above this many queued bytes a sender waits for the socket to drain (back-pressure). */
const HIGH_WATER_BYTES = 8 << 20;

/**
 * Sends one binary frame and resolves once ws has handed it to the operating system. When more than
 * HIGH_WATER_BYTES are already queued on the socket it first waits for them to drain, so a fast producer cannot
 * pile up unbounded buffers behind a slow link.
 */
export async function sendFrame(ws: WebSocket, frame: Uint8Array): Promise<void> {
  while (ws.bufferedAmount > HIGH_WATER_BYTES && ws.readyState === ws.OPEN) await sleep(1);
  await new Promise<void>((resolve, reject) => {
    if (ws.readyState !== ws.OPEN) {
      reject(new Error('connection closed'));
      return;
    }
    ws.send(frame, { binary: true }, (error) => (error ? reject(error) : resolve()));
  });
}
