import { z } from 'zod';
import { describeIssue } from '../cluster/schema.ts';
import { fail } from '../errors.ts';
import { EXECUTION_PROVIDERS } from '../cluster/types.ts';
import { MAX_LIST, workerProgramSchema } from './program-schema.ts';

/**
 * The wire format between coordinator and workers (docs/runtime.md, "Protocol"): every WebSocket message is one
 * binary frame = u32 little-endian header length, the header (UTF-8 JSON, a few hundred bytes at most: type and
 * addressing), then the payload (raw little-endian tensor bytes, row-major over the region the header names).
 * Tensor data is never JSON. Headers are checked against the schemas below; anything else is rejected.
 */

/** The furthest ahead a piece's `at` may lie: an emulated transfer longer than this is a coordinator's error. */
export const HOLD_MAX_MS = 600_000;

/** This process' clock on the host's shared time line (ms): what `at` fields are stated in. */
export const hostClockMs = (): number => performance.timeOrigin + performance.now();

/** The largest payload a probe frame carries or asks for (it measures links, it must not be a way to fill memory). */
export const PROBE_MAX_BYTES = 64 * 2 ** 20;

const box = z.array(z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]));
const count = z.number().int().nonnegative();

export const workerBound = z.discriminatedUnion('t', [
  /** The worker's part of a plan (JSON of a WorkerProgram, without weight bytes) and how to run it. */
  z.strictObject({
    t: z.literal('setup'),
    program: workerProgramSchema,
    /** Measured compute is stretched by this factor (--emulate); 1 = as measured. */
    slowdown: z.number().min(1).max(1e6),
    heartbeatMs: z.number().min(10).max(60_000),
    /** Ask the coordinator for the host's processor before each step (emulated devices sharing one host). */
    exclusiveCompute: z.boolean().optional(),
    /** The execution providers and intra-op threads of its sessions (targets.ts; default CPU, one thread). */
    target: z
      .strictObject({ executionProviders: z.array(z.enum(EXECUTION_PROVIDERS)).min(1).max(16), threads: z.number().int().min(1).max(256) })
      .optional(),
  }),
  /** To a worker started from a bundle: run the bundle's steps (no program, weights or sub-models travel). */
  z.strictObject({
    t: z.literal('attach'),
    slowdown: z.number().min(1).max(1e6),
    heartbeatMs: z.number().min(10).max(60_000),
    exclusiveCompute: z.boolean().optional(),
  }),
  z.strictObject({ t: z.literal('weight'), key: z.string() }),
  z.strictObject({ t: z.literal('build') }),
  /** Start a run; `slowdown`, when given, replaces the setup's for this run (the host's speed was re-measured). */
  z.strictObject({ t: z.literal('run'), run: count, slowdown: z.number().min(1).max(1e6).optional() }),
  /**
   * `at` (emulated links, workers on the coordinator's host): when the piece arrives over the emulated link, as
   * performance.timeOrigin + performance.now() ms; the worker holds it until then. At most HOLD_MAX_MS ahead.
   */
  z.strictObject({
    t: z.literal('piece'),
    run: count,
    message: count,
    delivery: count,
    box,
    at: z.number().positive().finite().optional(),
  }),
  /** The processor is this worker's until it sends `computed`. */
  z.strictObject({ t: z.literal('grant'), run: count }),
  /** `memorianova probe`, before any set-up: answer with `reply` bytes (the frame's own payload measures the downlink). */
  z.strictObject({ t: z.literal('probe'), id: count, reply: z.number().int().min(0).max(PROBE_MAX_BYTES) }),
  /** `memorianova probe`: time the worker's built-in compute benchmark (src/runtime/probe-compute.ts). */
  z.strictObject({ t: z.literal('probe-compute') }),
]);

/** The most steps a `done` may time: the program schema's bound on a program's steps. */
export const MAX_STEPS = MAX_LIST;

/**
 * The messages a worker sends; a `done` times at most `maxSteps` steps (the coordinator decodes each worker's frames
 * with its program's step count, and checks that a `done` times each of them).
 */
export const coordinatorBoundFor = (maxSteps: number) =>
  z.discriminatedUnion('t', [
    /**
     * `proof`: HMAC of the coordinator's nonce and the challenge (auth.ts), null when the worker has no secret.
     * `bundle`: what a worker started from a bundle runs (its model fingerprint, device index, manifest's SHA-256).
     */
    z.strictObject({
      t: z.literal('hello'),
      name: z.string(),
      memoryLimitBytes: count.nullable(),
      proof: z.string().nullable(),
      bundle: z.strictObject({ fingerprint: z.string(), device: count, manifestSha256: z.string() }).nullable(),
    }),
    z.strictObject({ t: z.literal('ready'), buildMs: z.number().nonnegative(), sessions: count }),
    /** `at`: when the worker handed the part to its socket (performance.timeOrigin + performance.now() ms). */
    z.strictObject({ t: z.literal('upload'), run: count, message: count, part: count, box, at: z.number().positive().finite() }),
    z.strictObject({
      t: z.literal('done'),
      run: count,
      computeMs: z.number().nonnegative(),
      waitMs: z.number().nonnegative(),
      sendMs: z.number().nonnegative(),
      peakBytes: count,
      tensorPeakBytes: count,
      /** The largest, over steps, of the tensors held plus the step's planned working set (docs/runtime.md, "Measurements"). */
      workingPeakBytes: count,
      /** Each step's time, in program order (what computeMs sums; docs/runtime.md, "Measurements"). */
      stepMs: z.array(z.number().nonnegative()).max(maxSteps),
    }),
    z.strictObject({ t: z.literal('beat') }),
    /** Exclusive compute: a step is ready to run (`compute`), and has run (`computed`). */
    z.strictObject({ t: z.literal('compute'), run: count }),
    z.strictObject({ t: z.literal('computed'), run: count }),
    z.strictObject({ t: z.literal('error'), message: z.string(), step: z.string().nullable() }),
    z.strictObject({ t: z.literal('probe-reply'), id: count, received: count }),
    /** The benchmark's FLOPs (the cost model's), its median wall ms over `runs` runs, on `threads` intra-op threads. */
    z.strictObject({
      t: z.literal('probe-computed'),
      flops: count,
      ms: z.number().positive(),
      runs: count,
      threads: count,
      totalMemoryBytes: count,
    }),
  ]);

/** Any worker's messages (a `done` of up to MAX_STEPS steps). */
export const coordinatorBound = coordinatorBoundFor(MAX_STEPS);

export type WorkerBound = z.infer<typeof workerBound>;
export type CoordinatorBound = z.infer<typeof coordinatorBound>;

export interface Frame<H> {
  header: H;
  payload: Uint8Array;
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
/** Headers are small; a larger one is a malformed (or hostile) frame. */
export const MAX_HEADER_BYTES = 1 << 26;

/** One frame: header length, header, payload, in one buffer (the payload is copied once). */
export function encodeFrame(header: WorkerBound | CoordinatorBound, payload: Uint8Array = new Uint8Array(0)): Buffer {
  const head = utf8.encode(JSON.stringify(header));
  const out = Buffer.allocUnsafe(4 + head.length + payload.length);
  out.writeUInt32LE(head.length, 0);
  out.set(head, 4);
  out.set(payload, 4 + head.length);
  return out;
}

/** Decodes and checks one frame; `from` names the sender in the error. */
export function decodeFrame<H>(data: Uint8Array, schema: z.ZodType<H>, from: string): Frame<H> {
  if (data.length < 4) fail(`malformed frame from ${from}: ${data.length} bytes, shorter than the 4-byte header length`, 'runtime-failure');
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const length = view.getUint32(0, true);
  if (length > MAX_HEADER_BYTES || 4 + length > data.length)
    fail(`malformed frame from ${from}: header length ${length} exceeds the frame (${data.length} bytes)`, 'runtime-failure');
  let raw: unknown;
  try {
    raw = JSON.parse(utf8Decoder.decode(data.subarray(4, 4 + length)));
  } catch {
    fail(`malformed frame from ${from}: the header is not UTF-8 JSON`, 'runtime-failure');
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const type = raw !== null && typeof raw === 'object' && 't' in raw ? ` '${String((raw as { t: unknown }).t)}'` : '';
    fail(`unexpected message${type} from ${from}: ${describeIssue(parsed.error)}`, 'runtime-failure');
  }
  return { header: parsed.data, payload: data.subarray(4 + length) };
}

/** ws delivers binary messages as a Buffer (or fragments); text frames are a protocol violation. */
export function frameBytes(data: unknown, isBinary: boolean, from: string): Uint8Array {
  if (!isBinary) fail(`malformed frame from ${from}: a text frame (the protocol is binary only)`, 'runtime-failure');
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data as Buffer[]);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  fail(`malformed frame from ${from}: unreadable payload`, 'runtime-failure');
}
