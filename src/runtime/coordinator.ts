import WebSocket from 'ws';
import type { Cluster } from '../cluster/types.ts';
import { fail, MemoriaNovaError } from '../errors.ts';
import { boxVolume, containsBox, fullBox, unionVolume } from '../partition/box.ts';
import { parseHostPort } from './address.ts';
import { AUTH_HEADER, coordinatorProof, newNonce, type Secret } from './auth.ts';
import { fetchChallenge, helloProvesSecret, readBody } from './connect.ts';
import { network, type Network } from '../simulate/latency.ts';
import { sendFrame, sleep } from './link.ts';
import { targetOf } from './targets.ts';
import { ROUTER, type RuntimeProgram } from './program.ts';
import {
  coordinatorBoundFor,
  decodeFrame,
  encodeFrame,
  frameBytes,
  MAX_HEADER_BYTES,
  type CoordinatorBound,
  type WorkerBound,
} from './protocol.ts';
import { copyRegion, elementSize, emptyRegion, extractRegion, weightSlice, type Region } from './regions.ts';

/** How long a closed connection's report waits for a local child's exit status to name why it closed. */
const LOSS_REPORT_DELAY_MS = 100;

export interface ExecuteOptions {
  /** host:port of each worker, one per device of the plan's cluster (worker i runs device i). */
  workers: string[];
  /** Measured runs (after `warmup` unmeasured ones). */
  runs: number;
  warmup: number;
  /** Graph inputs, raw bytes by name. */
  inputs: Map<string, Uint8Array>;
  /** Emulate the cluster's links (device up/down rates and latencies, the router's forwarding). */
  emulateLinks: boolean;
  /** Per worker compute stretch factor (--emulate), 1 = as measured. */
  slowdowns: number[];
  /**
   * Workers take turns on the host's processor, one step at a time (emulated devices sharing one host: a step's CPU
   * time is then not inflated by another worker computing on a sibling hardware thread).
   */
  exclusiveCompute?: boolean;
  /** Called before each run (warm-up included): per worker slowdowns for that run, replacing `slowdowns`. */
  slowdownsForRun?: (run: number) => Promise<number[]>;
  /** A worker silent for this long (no frame, not even a heartbeat) fails the run. */
  timeoutMs: number;
  /** Called after each run (warm-up included) with its index and latency: progress reports. */
  onRun?: (run: number, latencyMs: number) => void;
  /** Extra words about a worker whose connection dropped (a local child's exit status). */
  describeLoss?: (worker: number) => string | undefined;
  /** The workers' shared secret (auth.ts): the coordinator proves it knows it and checks that each worker does. */
  secret?: Secret;
  /**
   * The workers run a bundle (`worker --bundle`): each must announce this model fingerprint, its device index and
   * the SHA-256 bundle.json records for its manifest; nothing but tensors is sent to it.
   */
  bundle?: { dir: string; fingerprint: string; manifests: Array<{ folder: string; sha256: string }> };
  /**
   * The workers run on this host (`--local`), on one clock: with emulated links an upload's emulated transfer starts
   * when the worker handed it to its socket, and a piece travels at once, held by its receiver until the emulated
   * link delivers it, so the real transfers over loopback overlap the emulated ones instead of adding to them.
   */
  sharedClock?: boolean;
}

export interface WorkerRunStats {
  name: string;
  computeMs: number;
  waitMs: number;
  sendMs: number;
  /** Each step's time (program order), as computeMs sums them. */
  stepMs: number[];
  /** Resident memory high-water mark above the worker's idle baseline. */
  peakBytes: number;
  /** Weight slices plus the peak of tensor regions the worker held (what the simulator's memory model counts). */
  tensorPeakBytes: number;
  /** Activations only: the largest, over steps, of the regions held while a step runs plus its planned working set. */
  workingPeakBytes: number;
}

export interface ExecuteResult {
  /** End-to-end ms of each measured run: inputs leave the router → the last output piece is in. */
  latenciesMs: number[];
  /** Per measured run, per worker. */
  workerRuns: WorkerRunStats[][];
  outputs: Map<string, Uint8Array>;
  buildMs: number[];
  /** From connecting to the workers to every worker ready (program, weights and sessions, or a bundle attached). */
  setupMs: number;
  /** setupMs plus the first run's latency (warm-up or not): time to first result once the workers listen. */
  firstResultMs: number;
}

type Phase = { kind: 'connect' } | { kind: 'setup' } | { kind: 'run'; run: number };

/**
 * The router of the star (docs/runtime.md, "Coordinator"): connects to the workers, sends each its program and
 * weight slices, then per run hands out the graph inputs, forwards every uploaded piece to the workers that need it
 * (one upload, several deliveries when broadcasting) and assembles the graph outputs. Weight slices are cut from
 * the program's weights at setup: compile it from a model with inline weights (runPlan does) so none is generated
 * once per slice.
 */
export async function executeProgram(program: RuntimeProgram, cluster: Cluster, options: ExecuteOptions): Promise<ExecuteResult> {
  const n = program.workers.length;
  if (options.workers.length !== n) fail(`the plan has ${n} devices but ${options.workers.length} workers were given`, 'usage');
  for (const address of options.workers) parseHostPort(address, 'a worker address');
  const coordinator = new Coordinator(program, cluster, options);
  try {
    return await coordinator.execute();
  } finally {
    coordinator.close();
  }
}

class Coordinator {
  private readonly sockets: WebSocket[] = [];
  private readonly lastHeard: number[];
  /** Workers the coordinator waits for (a hello, a ready, a done): only they can time out. */
  private readonly awaiting: boolean[];
  private readonly names: string[];
  /** Per worker: the schema of its frames (a `done` times at most its program's steps). */
  private readonly schemas: Array<ReturnType<typeof coordinatorBoundFor>>;
  private phase: Phase = { kind: 'connect' };
  private failure: ((error: Error) => void) | null = null;
  private failed: Error | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  private readonly waiters = new Map<string, Array<(frame: { header: CoordinatorBound; payload: Uint8Array }) => void>>();
  /** The emulated links (`--emulate-links`): the latency model's own hops and channels, fresh for each run. */
  private net: Network | null = null;
  private uploadHandler: ((worker: number, header: Extract<CoordinatorBound, { t: 'upload' }>, payload: Uint8Array) => void) | null = null;
  private readonly done: Array<Extract<CoordinatorBound, { t: 'done' }> | null>;
  /** Per worker: message ids each of its steps uploads (to name the step a worker is at). */
  private readonly stepUploads: Array<Array<{ name: string; messages: number[] }>>;
  /** Messages whose upload is complete in the current run. */
  private received = new Set<number>();
  /** Exclusive compute: the worker holding the processor, and the workers waiting for it in request order. */
  private processorHolder: number | null = null;
  private processorQueue: number[] = [];

  constructor(
    private readonly program: RuntimeProgram,
    private readonly cluster: Cluster,
    private readonly options: ExecuteOptions,
  ) {
    const n = program.workers.length;
    this.lastHeard = new Array<number>(n).fill(performance.now());
    this.awaiting = new Array<boolean>(n).fill(false);
    this.names = program.workers.map((w, i) => `${w.name} (${options.workers[i]})`);
    this.done = new Array(n).fill(null);
    this.schemas = program.workers.map((w) => coordinatorBoundFor(w.steps.length));
    this.stepUploads = program.workers.map((w) => w.steps.map((s) => ({ name: s.name, messages: s.uploads.map((u) => u.message) })));
  }

  async execute(): Promise<ExecuteResult> {
    const failure = new Promise<never>((_, reject) => {
      this.failure = (error) => {
        if (this.failed === null) {
          this.failed = error;
          reject(error);
        }
      };
    });
    failure.catch(() => undefined);
    this.watchdog = setInterval(() => this.checkSilence(), Math.max(20, Math.min(250, this.options.timeoutMs / 4)));
    const guarded = <T>(p: Promise<T>): Promise<T> => Promise.race([p, failure]);
    const start = performance.now();
    await guarded(Promise.all(this.options.workers.map((address, i) => this.connect(i, address))));
    this.phase = { kind: 'setup' };
    const buildMs = await guarded(Promise.all(this.program.workers.map((_, i) => this.setup(i))));
    const setupMs = performance.now() - start;
    let firstResultMs = setupMs;
    const latenciesMs: number[] = [];
    const workerRuns: WorkerRunStats[][] = [];
    let outputs = new Map<string, Uint8Array>();
    for (let run = 0; run < this.options.warmup + this.options.runs; run++) {
      const result = await guarded(this.runOnce(run));
      outputs = result.outputs;
      if (run === 0) firstResultMs += result.latencyMs;
      if (run >= this.options.warmup) {
        latenciesMs.push(result.latencyMs);
        workerRuns.push(result.workers);
      }
      this.options.onRun?.(run, result.latencyMs);
    }
    return { latenciesMs, workerRuns, outputs, buildMs, setupMs, firstResultMs };
  }

  close(): void {
    if (this.watchdog !== null) clearInterval(this.watchdog);
    for (const ws of this.sockets) if (ws !== undefined) ws.terminate();
  }

  private abort(message: string): void {
    this.failure?.(new MemoriaNovaError(message, 'runtime-failure'));
  }

  /** The step a worker is at, as the coordinator sees it: its first step with uploads not yet received. */
  private stepOf(worker: number): string {
    const phase = this.phase;
    if (phase.kind !== 'run') return phase.kind;
    const steps = this.stepUploads[worker]!;
    const pending = steps.find((s) => s.messages.some((m) => !this.received.has(m)));
    if (pending !== undefined) return pending.name;
    return this.done[worker] === null
      ? steps.length === 0
        ? 'finishing (it has no steps)'
        : `finishing after '${steps[steps.length - 1]!.name}'`
      : 'done';
  }

  private where(worker: number): string {
    const phase = this.phase;
    const run = phase.kind === 'run' ? `run ${phase.run}, ` : '';
    return `${run}step '${this.stepOf(worker)}'`;
  }

  private checkSilence(): void {
    const now = performance.now();
    this.lastHeard.forEach((heard, i) => {
      if (!this.awaiting[i]) return;
      if (now - heard > this.options.timeoutMs) {
        this.abort(
          `worker ${this.names[i]} sent nothing for ${Math.round(now - heard)} ms (timeout ${this.options.timeoutMs} ms) during ${this.where(i)}`,
        );
      }
    });
  }

  /** The largest upload part of the program plus its header: no worker frame is larger. */
  private maxFramePayload(): number {
    let largest = 0;
    const dtypes = new Map([...this.program.inputs, ...this.program.outputs].map((t) => [t.name, t.dtype]));
    for (const w of this.program.workers) for (const [t, d] of Object.entries(w.dtypes)) dtypes.set(t, d);
    for (const m of this.program.messages)
      for (const part of m.parts) largest = Math.max(largest, boxVolume(part) * elementSize(dtypes.get(m.tensor)!, m.tensor));
    return Math.min(2 ** 31 - 1, 4 + MAX_HEADER_BYTES + largest);
  }

  private async connect(i: number, address: string): Promise<void> {
    this.lastHeard[i] = performance.now();
    this.awaiting[i] = true;
    const secret = this.options.secret;
    const nonce = newNonce();
    let challenge: string | null = null;
    if (secret !== undefined) {
      challenge = await this.fetchChallenge(i, address);
      if (challenge === null) return new Promise<void>(() => undefined);
    }
    return new Promise<void>((resolve) => {
      const ws = new WebSocket(`ws://${address}`, {
        maxPayload: this.maxFramePayload(),
        perMessageDeflate: false,
        handshakeTimeout: this.options.timeoutMs,
        ...(secret === undefined || challenge === null ? {} : { headers: { [AUTH_HEADER]: coordinatorProof(secret, challenge, nonce) } }),
      });
      this.sockets[i] = ws;
      this.lastHeard[i] = performance.now();
      ws.on('error', (error) => this.abort(`worker ${this.names[i]}: connection failed during ${this.where(i)} (${error.message})`));
      ws.on('unexpected-response', (req, res) => {
        void readBody(res).then((body) => {
          req.destroy();
          this.abort(`worker ${this.names[i]} refused the connection (HTTP ${res.statusCode}): ${body === '' ? res.statusMessage : body}`);
        });
      });
      ws.on('close', () => {
        if (this.failed !== null) return;
        // A local child's exit status arrives just after its socket closes.
        setTimeout(() => {
          const extra = this.options.describeLoss?.(i);
          this.abort(`worker ${this.names[i]} closed the connection during ${this.where(i)}${extra === undefined ? '' : ` (${extra})`}`);
        }, LOSS_REPORT_DELAY_MS);
      });
      ws.on('message', (data, isBinary) => {
        this.lastHeard[i] = performance.now();
        let frame: { header: CoordinatorBound; payload: Uint8Array };
        try {
          frame = decodeFrame(frameBytes(data, isBinary, `worker ${this.names[i]}`), this.schemas[i]!, `worker ${this.names[i]}`);
        } catch (error) {
          this.abort(`${(error as Error).message} (during ${this.where(i)})`);
          return;
        }
        this.dispatch(i, frame);
      });
      void this.expect(i, 'hello').then(({ header }) => {
        if (header.t !== 'hello') return;
        if (!helloProvesSecret(secret, nonce, challenge, header.proof)) {
          this.abort(`worker ${this.names[i]} did not prove that it knows the secret (it was started with another one, or none)`);
          return;
        }
        const mismatch = this.bundleMismatch(i, header.bundle);
        if (mismatch !== null) {
          this.abort(`worker ${this.names[i]} ${mismatch}`);
          return;
        }
        resolve();
      });
    });
  }

  /** Why worker i cannot run this plan as its hello describes it (bundle or not), or null. */
  private bundleMismatch(i: number, announced: Extract<CoordinatorBound, { t: 'hello' }>['bundle']): string | null {
    const bundle = this.options.bundle;
    if (bundle === undefined)
      return announced === null ? null : 'runs a bundle (started with worker --bundle): coordinate it with run --bundle';
    const expected = bundle.manifests[i]!;
    const folder = `${bundle.dir}/${expected.folder}`;
    if (announced === null) return `was not started from a bundle: start it with worker --bundle ${folder}`;
    if (announced.fingerprint !== bundle.fingerprint)
      return `runs a bundle of another model (fingerprint ${announced.fingerprint}, this bundle's is ${bundle.fingerprint})`;
    if (announced.device !== i || announced.manifestSha256 !== expected.sha256)
      return `runs another device or bundle (device ${announced.device}, manifest ${announced.manifestSha256.slice(0, 12)}…) than ${folder} (device ${i}, manifest ${expected.sha256.slice(0, 12)}…)`;
    return null;
  }

  /** A one-time challenge from the worker (auth.ts); null once the run has been failed. */
  private fetchChallenge(i: number, address: string): Promise<string | null> {
    return fetchChallenge(address, this.options.timeoutMs).catch((error: Error) => {
      this.abort(`worker ${this.names[i]}: ${error.message} during ${this.where(i)}`);
      return null;
    });
  }

  private dispatch(i: number, frame: { header: CoordinatorBound; payload: Uint8Array }): void {
    const { header } = frame;
    switch (header.t) {
      case 'beat':
        return;
      case 'error':
        this.abort(
          `worker ${this.names[i]} failed during ${header.step === null ? this.where(i) : `${this.phase.kind === 'run' ? `run ${this.phase.run}, ` : ''}step '${header.step}'`}: ${header.message}`,
        );
        return;
      case 'upload':
        if (this.uploadHandler === null || this.phase.kind !== 'run' || header.run !== this.phase.run) {
          this.abort(`unexpected message 'upload' from worker ${this.names[i]} during ${this.where(i)} (run ${header.run})`);
          return;
        }
        this.uploadHandler(i, header, frame.payload);
        return;
      case 'compute':
      case 'computed':
        this.processorRequest(i, header);
        return;
      case 'done':
        if (this.phase.kind !== 'run' || header.run !== this.phase.run || this.done[i] !== null) {
          this.abort(`unexpected message 'done' from worker ${this.names[i]} during ${this.where(i)}`);
          return;
        }
        if (header.stepMs.length !== this.program.workers[i]!.steps.length) {
          this.abort(
            `unexpected message 'done' from worker ${this.names[i]}: it times ${header.stepMs.length} steps, its program has ${this.program.workers[i]!.steps.length}`,
          );
          return;
        }
        this.done[i] = header;
        break;
    }
    const key = `${i}:${header.t}`;
    const list = this.waiters.get(key);
    if (list === undefined || list.length === 0) {
      if (header.t !== 'done') this.abort(`unexpected message '${header.t}' from worker ${this.names[i]} during ${this.where(i)}`);
      return;
    }
    list.shift()!(frame);
  }

  /** Exclusive compute: grants the processor in request order, one worker at a time. */
  private processorRequest(i: number, header: Extract<CoordinatorBound, { t: 'compute' | 'computed' }>): void {
    const inRun = this.phase.kind === 'run' && header.run === this.phase.run && this.options.exclusiveCompute === true;
    const queued = this.processorQueue.includes(i) || this.processorHolder === i;
    if (!inRun || (header.t === 'compute' && queued) || (header.t === 'computed' && this.processorHolder !== i)) {
      this.abort(`unexpected message '${header.t}' from worker ${this.names[i]} during ${this.where(i)}`);
      return;
    }
    if (header.t === 'compute') this.processorQueue.push(i);
    else this.processorHolder = null;
    if (this.processorHolder === null && this.processorQueue.length > 0) {
      const next = this.processorQueue.shift()!;
      this.processorHolder = next;
      void this.send(next, { t: 'grant', run: header.run });
    }
  }

  /** Waits for the worker's next message of `type`; until it arrives, the worker's silence is timed. */
  private expect(i: number, type: CoordinatorBound['t']): Promise<{ header: CoordinatorBound; payload: Uint8Array }> {
    this.awaiting[i] = true;
    this.lastHeard[i] = performance.now();
    return new Promise((resolve) => {
      const key = `${i}:${type}`;
      const list = this.waiters.get(key) ?? [];
      list.push((frame) => {
        this.awaiting[i] = false;
        resolve(frame);
      });
      this.waiters.set(key, list);
    });
  }

  private send(i: number, header: WorkerBound, payload?: Uint8Array): Promise<void> {
    const ws = this.sockets[i]!;
    return sendFrame(ws, encodeFrame(header, payload)).catch(() => {
      const fail = () => this.abort(`worker ${this.names[i]}: sending failed during ${this.where(i)}`);
      // A socket already closing has its own report coming, with a local child's exit status: let it come first.
      if (ws.readyState === WebSocket.OPEN) fail();
      else setTimeout(fail, 2 * LOSS_REPORT_DELAY_MS);
    });
  }

  private async setup(i: number): Promise<number> {
    const program = this.program.workers[i]!;
    const heartbeatMs = Math.max(10, Math.min(1000, this.options.timeoutMs / 4));
    const settings = { slowdown: this.options.slowdowns[i] ?? 1, heartbeatMs, exclusiveCompute: this.options.exclusiveCompute ?? false };
    if (this.options.bundle !== undefined) {
      const ready = this.expect(i, 'ready');
      await this.send(i, { t: 'attach', ...settings });
      const { header } = await ready;
      return header.t === 'ready' ? header.buildMs : 0;
    }
    await this.send(i, {
      t: 'setup',
      program,
      slowdown: this.options.slowdowns[i] ?? 1,
      heartbeatMs,
      exclusiveCompute: this.options.exclusiveCompute ?? false,
      target: targetOf(this.cluster.devices[i]!),
    });
    for (const slice of program.weights) {
      await this.send(i, { t: 'weight', key: slice.key }, weightSlice(this.program.weightSources.get(slice.key)!, slice.box));
    }
    const ready = this.expect(i, 'ready');
    await this.send(i, { t: 'build' });
    const { header } = await ready;
    return header.t === 'ready' ? header.buildMs : 0;
  }

  private async runOnce(run: number): Promise<{ latencyMs: number; outputs: Map<string, Uint8Array>; workers: WorkerRunStats[] }> {
    const program = this.program;
    this.phase = { kind: 'run', run };
    this.done.fill(null);
    this.received = new Set();
    this.processorHolder = null;
    this.processorQueue = [];
    this.net = this.options.emulateLinks ? network(this.cluster) : null;
    const outputs = new Map<string, Region>(
      program.outputs.map((o) => [o.name, emptyRegion(fullBox(o.shape), elementSize(o.dtype, o.name))]),
    );
    const dtypes = new Map([...program.inputs, ...program.outputs].map((t) => [t.name, t.dtype]));
    for (const w of program.workers) for (const [t, d] of Object.entries(w.dtypes)) dtypes.set(t, d);
    let outputPieces = 0;
    program.messages.forEach((m) => m.deliveries.forEach((d) => d.device === ROUTER && outputPieces++));
    let outputsDone!: () => void;
    const allOutputs = new Promise<void>((resolve) => (outputsDone = resolve));
    if (outputPieces === 0) outputsDone();
    const parts = new Map<number, Region[]>();
    /** Per message, when its last part was handed to the worker's socket, on this process' clock (sharedClock). */
    const handedAt = new Map<number, number>();
    const deliveries: Array<Promise<void>> = [];

    let lastOutputAt = 0;
    /**
     * Routes a complete message: an emulated upload ends `hop` after it is ready (behind the sender's earlier
     * uploads), the router forwards it once, each delivery then crosses its receiver's downlink. The three hops
     * are booked at once and the piece is sent after a single wait, so timer lateness is paid once per delivery.
     */
    const forward = (id: number, uploaded: Region[], readyAt: number) => {
      const m = program.messages[id]!;
      const size = elementSize(dtypes.get(m.tensor)!, m.tensor);
      const pieceOf = (box: (typeof m.deliveries)[number]['box']) =>
        extractRegion(
          uploaded.find((u) => containsBox(u.box, box))!,
          box,
          size,
        );
      const uploadBytes = uploaded.reduce((total, part) => total + part.bytes.length, 0);
      const uploadedAt = m.source === ROUTER ? readyAt : (this.net?.uplinks[m.source]!.send(readyAt, uploadBytes).arrivesMs ?? readyAt);
      for (const d of m.deliveries) {
        if (d.device !== ROUTER) continue;
        copyRegion(pieceOf(d.box), outputs.get(m.tensor)!, d.box, size);
        lastOutputAt = Math.max(lastOutputAt, uploadedAt);
        if (--outputPieces === 0) outputsDone();
      }
      const toDevices = m.deliveries.map((d, k) => ({ ...d, k })).filter((d) => d.device !== ROUTER);
      if (toDevices.length === 0) return;
      const forwardedAt = this.net?.forward.send(uploadedAt, unionVolume(toDevices.map((d) => d.box)) * size).arrivesMs ?? uploadedAt;
      for (const d of toDevices) {
        const piece = pieceOf(d.box);
        const arrivesAt = this.net?.downlinks[d.device]!.send(forwardedAt, piece.bytes.length).arrivesMs ?? forwardedAt;
        const header = { t: 'piece', run, message: id, delivery: d.k, box: d.box } as const;
        deliveries.push(
          this.net !== null && this.options.sharedClock
            ? this.send(d.device, { ...header, at: arrivesAt + performance.timeOrigin }, piece.bytes)
            : sleep(arrivesAt - performance.now()).then(() => this.send(d.device, header, piece.bytes)),
        );
      }
    };
    this.uploadHandler = (worker, header, payload) => {
      const m = program.messages[header.message];
      const part = m?.parts[header.part];
      const size = m === undefined ? 0 : elementSize(dtypes.get(m.tensor)!, m.tensor);
      if (
        m === undefined ||
        m.source !== worker ||
        part === undefined ||
        JSON.stringify(part) !== JSON.stringify(header.box) ||
        payload.length !== boxVolume(part) * size
      ) {
        this.abort(
          `unexpected upload from worker ${this.names[worker]} during ${this.where(worker)}: message ${header.message} part ${header.part} with ${payload.length} bytes is not one it sends`,
        );
        return;
      }
      const got = parts.get(header.message) ?? [];
      got.push({ box: part, bytes: payload });
      parts.set(header.message, got);
      if (this.options.sharedClock)
        handedAt.set(header.message, Math.max(handedAt.get(header.message) ?? 0, header.at - performance.timeOrigin));
      if (got.length === m.parts.length) {
        this.received.add(header.message);
        const now = performance.now();
        forward(header.message, got, Math.min(now, handedAt.get(header.message) ?? now));
      }
    };

    const slowdowns = await this.options.slowdownsForRun?.(run);
    const dones = program.workers.map((_, i) => this.expect(i, 'done'));
    const start = performance.now();
    await Promise.all(
      program.workers.map((_, i) => this.send(i, slowdowns === undefined ? { t: 'run', run } : { t: 'run', run, slowdown: slowdowns[i]! })),
    );
    program.messages.forEach((m, id) => {
      if (m.source !== ROUTER) return;
      const input = this.options.inputs.get(m.tensor);
      const info = program.inputs.find((t) => t.name === m.tensor)!;
      if (input === undefined) fail(`no value for graph input '${m.tensor}'`, 'usage');
      forward(id, [{ box: fullBox(info.shape), bytes: input }], start);
    });
    await allOutputs;
    // With emulated links the last output piece lands when its upload has crossed the sender's uplink.
    const latencyMs = Math.max(performance.now(), lastOutputAt) - start;
    await Promise.all(dones);
    await Promise.all(deliveries);
    this.uploadHandler = null;
    const workers = this.done.map((d, i): WorkerRunStats => ({
      name: program.workers[i]!.name,
      computeMs: d!.computeMs,
      waitMs: d!.waitMs,
      stepMs: d!.stepMs,
      // On one clock the real socket time overlaps the emulated occupancy; elsewhere it comes on top of it.
      sendMs:
        this.net === null
          ? d!.sendMs
          : this.options.sharedClock
            ? Math.max(d!.sendMs, this.net.uplinks[i]!.busyMs)
            : d!.sendMs + this.net.uplinks[i]!.busyMs,
      peakBytes: d!.peakBytes,
      tensorPeakBytes: d!.tensorPeakBytes,
      workingPeakBytes: d!.workingPeakBytes,
    }));
    return { latencyMs, outputs: new Map([...outputs].map(([name, r]) => [name, r.bytes])), workers };
  }
}
