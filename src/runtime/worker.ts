import * as ort from 'onnxruntime-node';
import { WebSocketServer, type WebSocket } from 'ws';
import type { DType } from '../ir/dtype.ts';
import { boxShape, boxVolume, intersect } from '../partition/box.ts';
import { writeModelBytes } from '../onnx/write.ts';
import type { Box } from '../partition/types.ts';
import { sendFrame, sleep } from './link.ts';
import { peakResidentBytes, resetPeak, residentBytes } from './memory.ts';
import type { Step, WorkerProgram } from './program.ts';
import { decodeFrame, encodeFrame, frameBytes, workerBound, type CoordinatorBound, type WorkerBound } from './protocol.ts';
import { copyRegion, elementSize, emptyRegion, extractRegion, type Region } from './regions.ts';
import { planSteps, type StepPlan } from './schedule.ts';
import { buildStepModel, type HeldWeight, type StepModel } from './submodel.ts';
import { ortTensorBytes, SESSION_OPTIONS, timedRun, toOrtTensor } from './tensors.ts';

export interface WorkerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  name?: string;
  /** Fail a step once the process' resident memory grows more than this above its idle baseline. */
  memoryLimitBytes?: number;
  /** Overrides the coordinator's slowdown (what --emulate computes locally). */
  slowdown?: number;
}

export interface RunningWorker {
  /** host:port it listens on. */
  address: string;
  close(): Promise<void>;
}

/** A failure the worker reports to the coordinator, naming the step it happened in. */
class StepFailure extends Error {
  constructor(
    message: string,
    readonly step: string | null,
  ) {
    super(message);
  }
}

/**
 * Starts a worker (docs/runtime.md, "Worker"): it serves one coordinator at a time, receives its program and
 * weight slices, builds one onnxruntime session per step (single intra-op thread) and runs them on request,
 * gathering pieces from the router and uploading what others need.
 */
export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const server = new WebSocketServer({ host: options.host, port: options.port, maxPayload: 2 ** 31 - 1, perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const address = server.address();
  const hostPort = typeof address === 'string' || address === null ? String(address) : `${options.host}:${address.port}`;
  const name = options.name ?? `worker@${hostPort}`;
  const baseline = residentBytes();
  let active: WebSocket | null = null;
  server.on('connection', (ws) => {
    if (active !== null) {
      void sendFrame(ws, encodeFrame({ t: 'error', message: `worker ${name} already serves a coordinator`, step: null })).finally(() =>
        ws.close(),
      );
      return;
    }
    active = ws;
    const session = new WorkerSession(ws, name, baseline, options);
    ws.on('close', () => {
      session.dispose();
      active = null;
    });
  });
  return {
    address: hostPort,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of server.clients) client.terminate();
        server.close(() => resolve());
      }),
  };
}

interface BuiltStep {
  step: Step;
  plan: StepPlan;
  model: StepModel;
  session: ort.InferenceSession;
}

class WorkerSession {
  private program: WorkerProgram | null = null;
  private slowdown = 1;
  private weights = new Map<string, HeldWeight>();
  private weightBytes = 0;
  private steps: BuiltStep[] = [];
  private heartbeat: NodeJS.Timeout | null = null;
  private pieces = new Map<string, Region>();
  private waiting = new Map<string, () => void>();
  private closed = false;
  private queue: Promise<void> = Promise.resolve();
  private exclusiveCompute = false;
  private granted: (() => void) | null = null;

  constructor(
    private readonly ws: WebSocket,
    private readonly name: string,
    private readonly baseline: number,
    private readonly options: WorkerOptions,
  ) {
    ws.on('message', (data, isBinary) => this.receive(data, isBinary));
    void this.send({ t: 'hello', name, pid: process.pid, memoryLimitBytes: options.memoryLimitBytes ?? null });
  }

  dispose(): void {
    this.closed = true;
    if (this.heartbeat !== null) clearInterval(this.heartbeat);
    void this.releaseSessions();
  }

  private send(header: CoordinatorBound, payload?: Uint8Array): Promise<void> {
    if (this.closed) return Promise.resolve();
    return sendFrame(this.ws, encodeFrame(header, payload)).catch(() => undefined);
  }

  private failWith(error: unknown, step: string | null): void {
    const message = error instanceof Error ? error.message : String(error);
    const where = error instanceof StepFailure ? error.step : step;
    void this.send({ t: 'error', message: `${this.name}: ${message}`, step: where }).then(() => this.ws.close());
  }

  private receive(data: unknown, isBinary: boolean): void {
    let frame: { header: WorkerBound; payload: Uint8Array };
    try {
      frame = decodeFrame(frameBytes(data, isBinary, 'the coordinator'), workerBound, 'the coordinator');
    } catch (error) {
      this.failWith(error, null);
      return;
    }
    const { header, payload } = frame;
    // Pieces are stored at once (a running step may be waiting for them); everything else runs in arrival order.
    if (header.t === 'piece') {
      this.storePiece(header, payload);
      return;
    }
    if (header.t === 'grant') {
      const wake = this.granted;
      this.granted = null;
      if (wake === null) this.failWith(new Error("received 'grant' without asking for the processor"), null);
      else wake();
      return;
    }
    if (header.t === 'weight') {
      this.weights.set(header.key, { dtype: 'float32', shape: [], bytes: payload.slice() });
      return;
    }
    this.queue = this.queue.then(() => this.handle(header)).catch((error) => this.failWith(error, null));
  }

  private async handle(header: WorkerBound): Promise<void> {
    switch (header.t) {
      case 'setup':
        this.program = header.program as WorkerProgram;
        this.slowdown = this.options.slowdown ?? header.slowdown;
        this.exclusiveCompute = header.exclusiveCompute ?? false;
        if (this.heartbeat !== null) clearInterval(this.heartbeat);
        this.heartbeat = setInterval(() => void this.send({ t: 'beat' }), header.heartbeatMs);
        return;
      case 'build':
        return this.build();
      case 'run':
        if (header.slowdown !== undefined && this.options.slowdown === undefined) this.slowdown = header.slowdown;
        return this.execute(header.run);
      case 'reset':
        await this.releaseSessions();
        this.program = null;
        return;
      default:
        throw new Error(`message '${header.t}' is not expected here`);
    }
  }

  private async build(): Promise<void> {
    const program = this.program;
    if (program === null) throw new StepFailure("received 'build' before 'setup'", 'setup');
    const start = performance.now();
    resetPeak();
    const shapes = new Map(program.weights.map((w) => [w.key, { dtype: w.dtype, shape: boxShape(w.box) }]));
    for (const [key, held] of this.weights) {
      const meta = shapes.get(key);
      if (meta === undefined) throw new StepFailure(`received weight slice '${key}', which its program does not use`, 'setup');
      held.dtype = meta.dtype;
      held.shape = meta.shape;
      const expected = boxVolume(meta.shape.map((s) => [0, s] as [number, number])) * elementSize(meta.dtype, key);
      if (held.bytes.length !== expected)
        throw new StepFailure(`weight slice '${key}' has ${held.bytes.length} bytes, expected ${expected}`, 'setup');
    }
    for (const w of program.weights) if (!this.weights.has(w.key)) throw new StepFailure(`weight slice '${w.key}' never arrived`, 'setup');
    this.weightBytes = [...this.weights.values()].reduce((n, w) => n + w.bytes.length, 0);
    await this.releaseSessions();
    const plans = planSteps(program);
    for (let s = 0; s < program.steps.length; s++) {
      const step = program.steps[s]!;
      const plan = plans[s]!;
      let model: StepModel;
      let session: ort.InferenceSession;
      try {
        model = buildStepModel(program, step, plan.held, this.weights, plan.keep);
        session = await ort.InferenceSession.create(writeModelBytes(model.graph), SESSION_OPTIONS);
      } catch (error) {
        throw new StepFailure(`cannot build the sub-model of step '${step.name}': ${(error as Error).message.split('\n')[0]}`, step.name);
      }
      this.steps.push({ step, plan, model, session });
      this.checkMemory(step.name);
    }
    // The sessions hold their own copies of the weights.
    this.weights.clear();
    await this.send({ t: 'ready', buildMs: performance.now() - start, sessions: this.steps.length });
  }

  private async releaseSessions(): Promise<void> {
    const steps = this.steps;
    this.steps = [];
    for (const s of steps) await s.session.release().catch(() => undefined);
  }

  private checkMemory(step: string): void {
    const limit = this.options.memoryLimitBytes;
    if (limit === undefined) return;
    const used = peakResidentBytes() - this.baseline;
    if (used > limit) {
      const mb = (n: number) => (n / 2 ** 20).toFixed(1);
      throw new StepFailure(
        `memory limit exceeded at step '${step}': ${mb(used)} MiB above the idle baseline, limit ${mb(limit)} MiB`,
        step,
      );
    }
  }

  private storePiece(header: Extract<WorkerBound, { t: 'piece' }>, payload: Uint8Array): void {
    const key = `${header.run}:${header.message}:${header.delivery}`;
    this.pieces.set(key, { box: header.box, bytes: payload });
    const wake = this.waiting.get(key);
    if (wake !== undefined) {
      this.waiting.delete(key);
      wake();
    }
  }

  private piece(run: number, message: number, delivery: number): Promise<Region> | Region {
    const key = `${run}:${message}:${delivery}`;
    const have = this.pieces.get(key);
    if (have !== undefined) {
      this.pieces.delete(key);
      return have;
    }
    return new Promise((resolve) => {
      this.waiting.set(key, () => {
        const got = this.pieces.get(key)!;
        this.pieces.delete(key);
        resolve(got);
      });
    });
  }

  private async execute(run: number): Promise<void> {
    const program = this.program;
    if (program === null || (this.steps.length === 0 && program.steps.length > 0))
      throw new StepFailure(`received 'run' before its sub-models were built`, null);
    resetPeak();
    const store = new Map<string, Region>();
    const dtypeOf = (tensor: string): DType => program.dtypes[tensor]!;
    let computeMs = 0;
    let waitMs = 0;
    let sendMs = 0;
    let heldPeak = 0;
    let lateMs = 0;
    const uploads: Array<Promise<void>> = [];
    for (const { step, plan, model, session } of this.steps) {
      try {
        const waitStart = performance.now();
        for (const gather of step.gathers) {
          const size = elementSize(dtypeOf(gather.tensor), gather.tensor);
          const region = emptyRegion(gather.region, size);
          const own = store.get(gather.tensor);
          if (own !== undefined) copyRegion(own, region, intersect(own.box, gather.region), size);
          for (const piece of gather.pieces) {
            const got = await this.piece(run, piece.message, piece.delivery);
            copyRegion(got, region, piece.box, size);
          }
          store.set(gather.tensor, region);
        }
        waitMs += performance.now() - waitStart;
        const feeds: Record<string, ort.Tensor> = {};
        for (const feed of model.feeds) {
          const region = store.get(feed.tensor)!;
          const size = elementSize(dtypeOf(feed.tensor), feed.tensor);
          const data = extractRegion(region, feed.box, size);
          feeds[feed.input] = toOrtTensor(dtypeOf(feed.tensor), data.bytes, boxShape(feed.box), feed.tensor);
        }
        const readyAt = performance.now();
        if (this.exclusiveCompute) await this.acquireProcessor(run);
        const { results, cpuMs } = await timedRun(session, feeds);
        if (this.exclusiveCompute) void this.send({ t: 'computed', run });
        // Waiting for the processor counts as compute time only where it outlasts the emulated step.
        const usedMs = performance.now() - readyAt;
        let stepMs = usedMs;
        if (this.slowdown > 1) {
          // The emulated device needs the step's CPU time × slowdown; the worker sleeps for what the wall clock
          // has not used of it yet. Timers fire late: the lateness is taken off the next sleep.
          stepMs = Math.max(usedMs, cpuMs * this.slowdown);
          const stretch = stepMs - usedMs;
          const slept = performance.now();
          await sleep(stretch - lateMs);
          lateMs = Math.max(0, lateMs + (performance.now() - slept) - stretch);
        }
        computeMs += stepMs;
        for (const result of model.results) store.set(result.tensor, { box: result.box, bytes: ortTensorBytes(results[result.output]!) });
        heldPeak = Math.max(
          heldPeak,
          [...store.values()].reduce((n, r) => n + r.bytes.length, 0),
        );
        for (const upload of step.uploads) {
          const region = store.get(upload.tensor)!;
          const size = elementSize(dtypeOf(upload.tensor), upload.tensor);
          upload.parts.forEach((part, index) => {
            const bytes = extractRegion(region, part, size).bytes;
            uploads.push(this.upload(run, upload.message, index, part, bytes).then((ms) => void (sendMs += ms)));
          });
        }
        for (const tensor of plan.release) store.delete(tensor);
        this.checkMemory(step.name);
      } catch (error) {
        if (error instanceof StepFailure) throw error;
        throw new StepFailure(`step '${step.name}' failed: ${(error as Error).message.split('\n')[0]}`, step.name);
      }
    }
    await Promise.all(uploads);
    const peakBytes = Math.max(0, peakResidentBytes() - this.baseline);
    await this.send({ t: 'done', run, computeMs, waitMs, sendMs, peakBytes, tensorPeakBytes: this.weightBytes + heldPeak });
  }

  /** Asks the coordinator for the host's processor and waits for its grant (exclusive compute). */
  private acquireProcessor(run: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.granted = resolve;
      void this.send({ t: 'compute', run });
    });
  }

  /**
   * Sends one upload part; resolves with the ms the socket took to take it (an emulated uplink's occupancy is
   * booked by the router, which adds it to the worker's send time).
   */
  private async upload(run: number, message: number, part: number, box: Box, bytes: Uint8Array): Promise<number> {
    const start = performance.now();
    await this.send({ t: 'upload', run, message, part, box }, bytes);
    return performance.now() - start;
  }
}
