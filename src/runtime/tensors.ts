import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { fail } from '../errors.ts';
import type { DType } from '../ir/dtype.ts';

type OrtType = ort.Tensor.Type;

const ORT_TYPES: Partial<
  Record<DType, { type: OrtType; view: (buffer: ArrayBuffer, offset: number, length: number) => ort.Tensor.DataType }>
> = {
  float32: { type: 'float32', view: (b, o, n) => new Float32Array(b, o, n) },
  float64: { type: 'float64', view: (b, o, n) => new Float64Array(b, o, n) },
  float16: { type: 'float16', view: (b, o, n) => new Uint16Array(b, o, n) },
  int8: { type: 'int8', view: (b, o, n) => new Int8Array(b, o, n) },
  uint8: { type: 'uint8', view: (b, o, n) => new Uint8Array(b, o, n) },
  int16: { type: 'int16', view: (b, o, n) => new Int16Array(b, o, n) },
  uint16: { type: 'uint16', view: (b, o, n) => new Uint16Array(b, o, n) },
  int32: { type: 'int32', view: (b, o, n) => new Int32Array(b, o, n) },
  uint32: { type: 'uint32', view: (b, o, n) => new Uint32Array(b, o, n) },
  int64: { type: 'int64', view: (b, o, n) => new BigInt64Array(b, o, n) },
  uint64: { type: 'uint64', view: (b, o, n) => new BigUint64Array(b, o, n) },
  bool: { type: 'bool', view: (b, o, n) => new Uint8Array(b, o, n) },
};

/** An onnxruntime tensor over raw little-endian bytes (copied once when they are not aligned for the type). */
export function toOrtTensor(dtype: DType, bytes: Uint8Array, shape: readonly number[], tensor: string): ort.Tensor {
  const entry = ORT_TYPES[dtype];
  if (entry === undefined) fail(`tensor '${tensor}' is ${dtype}, which the runtime cannot hand to onnxruntime`, 'unsupported-operator');
  const count = shape.reduce((a, b) => a * b, 1);
  const size = count === 0 ? 1 : bytes.byteLength / count;
  const aligned = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  return new ort.Tensor(entry.type, entry.view(aligned.buffer as ArrayBuffer, aligned.byteOffset, count), [...shape]);
}

/** The raw bytes behind an onnxruntime tensor (no copy). */
export function ortTensorBytes(tensor: ort.Tensor): Uint8Array {
  const data = tensor.data;
  if (typeof data === 'string' || Array.isArray(data)) fail('string tensors cannot be moved by the runtime', 'unsupported-operator');
  const view = data as ArrayBufferView;
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/** Session options for every sub-model and reference run: one intra-op thread, sequential, no arena. */
export const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
  // Errors only: warnings (e.g. about initializers a sub-model leaves unused) would flood the workers' stderr.
  logSeverityLevel: 3,
};

/**
 * Runs a session and returns its results with the wall-clock and the CPU milliseconds the run took. onnxruntime-node
 * runs a session on the calling thread with one intra-op thread, so the calling thread's CPU time over the call is
 * the compute itself, unaffected by other processes competing for the cores (docs/runtime.md, "Emulating devices").
 * It is the process' CPU time minus what its other threads used meanwhile: V8's garbage-collection helpers sweep and
 * mark concurrently, more on a worker that has just received many pieces, and an emulated device would multiply
 * that work by its slowdown as if the device had computed it.
 */
export async function timedRun(
  session: ort.InferenceSession,
  feeds: Record<string, ort.Tensor>,
  fetches?: Record<string, ort.Tensor>,
): Promise<{ results: ort.InferenceSession.ReturnType; wallMs: number; cpuMs: number }> {
  const othersBefore = otherThreadsCpuMs();
  const cpu = process.cpuUsage();
  const start = performance.now();
  const results = await (fetches === undefined ? session.run(feeds) : session.run(feeds, fetches));
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  const others = othersBefore === undefined ? 0 : Math.max(0, (otherThreadsCpuMs() ?? othersBefore) - othersBefore);
  return { results, wallMs, cpuMs: Math.max(0, (used.user + used.system) / 1000 - others) };
}

const TASKS = '/proc/self/task';
/** Checked once: elsewhere than Linux every timed run would otherwise pay a failed directory read. */
const PER_THREAD_TIMES = existsSync(`${TASKS}/${process.pid}/schedstat`);

/**
 * CPU milliseconds used so far by this process' threads other than the main one (Linux: each task's schedstat, in
 * nanoseconds, which the kernel brings up to date when the thread stops running; a thread caught running may lag by
 * one scheduler tick); undefined where /proc is not available.
 */
function otherThreadsCpuMs(): number | undefined {
  if (!PER_THREAD_TIMES) return undefined;
  try {
    let ns = 0;
    const main = String(process.pid);
    for (const task of readdirSync(TASKS)) {
      if (task === main) continue;
      try {
        ns += Number(readFileSync(`${TASKS}/${task}/schedstat`, 'utf8').split(' ', 1)[0]);
      } catch {
        // The thread ended between the listing and the read.
      }
    }
    return ns / 1e6;
  } catch {
    return undefined;
  }
}
