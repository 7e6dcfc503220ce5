import { createServer, type IncomingMessage } from 'node:http';
import { totalmem } from 'node:os';
import * as ort from 'onnxruntime-node';
import { WebSocketServer, type WebSocket } from 'ws';
import { fail } from '../errors.ts';
import {
  AUTH_HEADER,
  CHALLENGE_PATH,
  isLoopback,
  newNonce,
  parseProof,
  TOKEN_ENV,
  verifyCoordinator,
  workerProof,
  type Secret,
} from './auth.ts';
import type { DType } from '../ir/dtype.ts';
import { boxShape, boxVolume, intersect, sameBox } from '../partition/box.ts';
import { writeModelBytes } from '../onnx/write.ts';
import type { Box } from '../partition/types.ts';
import { BusyClock } from './busy.ts';
import { sendFrame, sleep } from './link.ts';
import { peakResidentBytes, resetPeak, residentBytes } from './memory.ts';
import type { WeightSlice } from './program.ts';
import { checkProgram, pieceMismatch, type CheckedProgram, type DeclaredPiece } from './program-schema.ts';
import {
  decodeFrame,
  encodeFrame,
  frameBytes,
  HOLD_MAX_MS,
  hostClockMs,
  PROBE_MAX_BYTES,
  workerBound,
  type CoordinatorBound,
  type WorkerBound,
} from './protocol.ts';
import { copyRegion, elementSize, emptyRegion, extractRegion, type Region } from './regions.ts';
import { benchmarkCompute } from './probe-compute.ts';
import { planSteps, type StepPlan } from './schedule.ts';
import { buildStepModel, type HeldWeight, type StepModel } from './submodel.ts';
import type { ExecutableStep, LoadedBundle } from './bundle.ts';
import { checkTarget, DEFAULT_TARGET, runMs, sessionOptions, targetOf, type SessionTarget } from './targets.ts';
import { ortTensorBytes, timedRun, toOrtTensor } from './tensors.ts';

export interface WorkerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  name?: string;
  /** Fail a step once the process' resident memory grows more than this above its idle baseline. */
  memoryLimitBytes?: number;
  /** Overrides the coordinator's slowdown (what --emulate computes locally). */
  slowdown?: number;
  /**
   * The shared secret a coordinator must prove it knows (auth.ts). Without one the worker only listens on a
   * loopback address, and then serves anyone who reaches it.
   */
  secret?: Secret;
  /** A connection that has not authenticated, or not sent its program, this long after it opened is dropped. */
  handshakeTimeoutMs?: number;
  /** Where refused connections are reported (default: stderr). */
  log?: (line: string) => void;
  /**
   * The device folder of a bundle, loaded from the worker's own command line (loadDeviceBundle): the worker runs
   * its sessions and refuses programs, weights and sub-models from the network.
   */
  bundle?: LoadedBundle;
  /** Resident memory before the bundle's sessions were created (the idle baseline of --memory-limit). */
  baselineBytes?: number;
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

const DEFAULT_HANDSHAKE_MS = 10_000;
/** Challenges handed out and not yet used; more at once are refused (a flood cannot grow the worker's memory). */
const MAX_PENDING_CHALLENGES = 64;
const MAX_CONNECTIONS = 64;

/** Listen errors a user causes (a port in use, an address this host lacks): one clear line. */
function listenError(error: unknown, host: string, port: number): never {
  const code = error instanceof Error && 'code' in error ? String(error.code) : '';
  const why =
    code === 'EADDRINUSE'
      ? 'the port is in use'
      : code === 'EADDRNOTAVAIL'
        ? 'this host has no such address'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
            ? 'no such host'
            : (error as Error).message;
  fail(`cannot listen on ${host}:${port}: ${why}`, 'usage');
}

/**
 * Starts a worker (docs/runtime.md, "Worker"): it serves one coordinator at a time, receives its program and
 * weight slices, builds one onnxruntime session per step (single intra-op thread) and runs them on request,
 * gathering pieces from the router and uploading what others need. With a secret, a coordinator first fetches a
 * challenge (`GET /challenge`) and proves in its upgrade request that it knows the secret; nothing else reaches
 * the WebSocket layer (docs/runtime.md, "Security model").
 */
export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const { host, port, secret } = options;
  if (secret === undefined && !isLoopback(host))
    fail(`a worker listening on ${host} (not a loopback address) needs a secret: give --token-file or ${TOKEN_ENV}`, 'usage');
  const handshakeMs = options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_MS;
  const log = options.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const budget = options.memoryLimitBytes ?? totalmem();
  const challenges = new Map<string, number>();
  /** The hello's proof for each verified upgrade request. */
  const proofs = new WeakMap<IncomingMessage, string>();
  let name = options.name ?? `worker@${host}:${port}`;
  let active: WebSocket | null = null;
  const peerOf = (req: IncomingMessage) => `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
  const refuse = (req: IncomingMessage, why: string) => log(`${name}: refused a connection from ${peerOf(req)}: ${why}`);

  const http = createServer({ connectionsCheckingInterval: Math.max(50, Math.min(1000, handshakeMs / 2)) }, (req, res) => {
    if (req.method !== 'GET' || req.url !== CHALLENGE_PATH || secret === undefined) {
      res
        .writeHead(404, { 'content-type': 'text/plain', connection: 'close' })
        .end(secret === undefined ? 'this worker uses no secret' : 'not found');
      return;
    }
    const now = performance.now();
    for (const [nonce, expires] of challenges) if (expires < now) challenges.delete(nonce);
    if (challenges.size >= MAX_PENDING_CHALLENGES) {
      refuse(req, 'too many challenges pending');
      res.writeHead(503, { 'content-type': 'text/plain', connection: 'close' }).end('busy');
      return;
    }
    const nonce = newNonce();
    challenges.set(nonce, now + handshakeMs);
    res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' }).end(nonce);
  });
  // Idle and slow clients are dropped before they reach the WebSocket layer.
  http.headersTimeout = handshakeMs;
  http.requestTimeout = handshakeMs;
  http.timeout = handshakeMs;
  http.keepAliveTimeout = Math.min(handshakeMs, 5000);
  http.maxConnections = MAX_CONNECTIONS;
  http.on('clientError', (_error, socket) => socket.destroy());

  /** The upgrade is refused unless the coordinator proves the secret and no other coordinator is served. */
  const verifyClient = (info: { req: IncomingMessage }, done: (ok: boolean, code?: number, message?: string) => void) => {
    const { req } = info;
    if (secret !== undefined) {
      const header = req.headers[AUTH_HEADER];
      const proof = typeof header === 'string' ? parseProof(header) : null;
      const expires = proof === null ? undefined : challenges.get(proof.challenge);
      if (proof !== null) challenges.delete(proof.challenge);
      const why =
        proof === null
          ? 'no authentication'
          : expires === undefined || expires < performance.now()
            ? 'an unknown or expired challenge'
            : !verifyCoordinator(secret, proof.challenge, proof.nonce, proof.mac)
              ? 'authentication failed'
              : null;
      if (why !== null) {
        refuse(req, why);
        done(false, 401, `${why} (give the worker's secret with --token-file or ${TOKEN_ENV})`);
        return;
      }
      proofs.set(req, workerProof(secret, proof!.nonce, proof!.challenge));
    }
    if (active !== null) {
      refuse(req, 'it already serves a coordinator');
      done(false, 409, `${name} already serves a coordinator`);
      return;
    }
    done(true);
  };

  const server = new WebSocketServer({ server: http, maxPayload: maxFramePayload(budget), perMessageDeflate: false, verifyClient });
  // ws re-emits the HTTP server's errors; listen errors are reported by listenError below.
  let listening = false;
  server.on('error', (error) => listening && log(`${name}: ${error.message}`));
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, host.replace(/^\[(.*)\]$/, '$1'), () => {
      http.off('error', reject);
      resolve();
    });
  }).catch((error: unknown) => listenError(error, host, port));
  listening = true;
  const address = http.address();
  const hostPort = typeof address === 'string' || address === null ? String(address) : `${host}:${address.port}`;
  name = options.name ?? `worker@${hostPort}`;
  const baseline = options.baselineBytes ?? residentBytes();
  server.on('connection', (ws, req) => {
    const peer = peerOf(req);
    ws.on('error', (error) => {
      log(`${name}: connection from ${peer}: ${error.message}`);
      ws.terminate();
    });
    if (active !== null) {
      // Two upgrades verified at once: the later one is refused here.
      refuse(req, 'it already serves a coordinator');
      ws.close(1013, 'already serves a coordinator');
      return;
    }
    active = ws;
    const session = new WorkerSession(ws, name, baseline, budget, handshakeMs, proofs.get(req) ?? null, options);
    ws.on('close', () => {
      session.dispose();
      if (active === ws) active = null;
    });
  });
  return {
    address: hostPort,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of server.clients) client.terminate();
        server.close();
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}

/**
 * Checks a step's in-place write against what the worker derived (schedule.ts): the input is fed whole to the
 * sub-model, freed after the step, and of the output's size; returns the sub-model output it names.
 */
function inPlaceOf(
  inPlace: { input: string; output: string },
  plan: StepPlan,
  model: StepModel,
): { input: string; output: string; shape: number[] } {
  const held = plan.held.get(inPlace.input);
  const result = model.results.find((r) => r.tensor === inPlace.output);
  const feed = model.feeds.find((f) => f.tensor === inPlace.input);
  if (held === undefined || result === undefined || feed === undefined || !plan.release.includes(inPlace.input))
    throw new Error(`'${inPlace.output}' cannot be written in place of '${inPlace.input}': that is not a held input the step frees`);
  const shape = boxShape(result.box);
  if (!sameBox(held, feed.box) || boxVolume(held) !== boxVolume(result.box))
    throw new Error(`'${inPlace.output}' cannot be written in place of '${inPlace.input}': their sizes differ`);
  return { input: inPlace.input, output: result.output, shape };
}

/**
 * The largest WebSocket message a worker takes: what it could hold within its memory budget (a frame is buffered
 * whole before its header can be read, so a larger one is refused by the WebSocket layer with close code 1009), but
 * never less than a MiB, which holds any set-up header a worker that small can run.
 */
function maxFramePayload(budget: number): number {
  return Math.min(2 ** 31 - 1, 4 + Math.max(budget, MIN_FRAME_BYTES));
}

const MIN_FRAME_BYTES = 1 << 20;

class WorkerSession {
  private checked: CheckedProgram | null = null;
  /** Every piece the steps gather, once set up (from the checked program or the bundle). */
  private declared: Map<string, DeclaredPiece> | null = null;
  private dtypes: Record<string, DType> = {};
  private target: SessionTarget = DEFAULT_TARGET;
  private weightSlices = new Map<string, WeightSlice>();
  private slowdown = 1;
  private weights = new Map<string, HeldWeight>();
  private weightBytes = 0;
  private steps: ExecutableStep[] = [];
  private heartbeat: NodeJS.Timeout | null = null;
  private setupTimer: NodeJS.Timeout | null;
  private readonly handshakeMs: number;
  /** The last run the coordinator started: pieces of any other run are refused. */
  private announcedRun: number | null = null;
  /** Pieces received but held until their emulated arrival (`at`). */
  private readonly held = new Set<string>();
  private pieces = new Map<string, Region>();
  private waiting = new Map<string, () => void>();
  private closed = false;
  private failed = false;
  private queue: Promise<void> = Promise.resolve();
  private exclusiveCompute = false;
  private granted: (() => void) | null = null;

  constructor(
    private readonly ws: WebSocket,
    private readonly name: string,
    private baseline: number,
    private readonly budget: number,
    handshakeMs: number,
    proof: string | null,
    private readonly options: WorkerOptions,
  ) {
    ws.on('message', (data, isBinary) => this.receive(data, isBinary));
    this.handshakeMs = handshakeMs;
    this.setupTimer = null;
    this.restartHandshakeTimer();
    const bundle = options.bundle;
    void this.send({
      t: 'hello',
      name,
      memoryLimitBytes: options.memoryLimitBytes ?? null,
      proof,
      bundle:
        bundle === undefined
          ? null
          : {
              fingerprint: bundle.manifest.model.fingerprint,
              device: bundle.manifest.device.index,
              manifestSha256: bundle.manifestSha256,
            },
    });
  }

  private restartHandshakeTimer(): void {
    if (this.setupTimer !== null) clearTimeout(this.setupTimer);
    this.setupTimer = setTimeout(
      () => this.failWith(new StepFailure(`no program within ${this.handshakeMs} ms`, 'setup'), 'setup'),
      this.handshakeMs,
    );
  }

  dispose(): void {
    this.closed = true;
    if (this.heartbeat !== null) clearInterval(this.heartbeat);
    if (this.setupTimer !== null) clearTimeout(this.setupTimer);
    this.pieces.clear();
    this.weights.clear();
    // A bundle's sessions belong to the worker and serve every coordinator; shipped ones to this connection.
    if (this.options.bundle === undefined) void this.releaseSessions();
  }

  private send(header: CoordinatorBound, payload?: Uint8Array): Promise<void> {
    if (this.closed) return Promise.resolve();
    return sendFrame(this.ws, encodeFrame(header, payload)).catch(() => undefined);
  }

  /** Reports the first failure and closes the connection; later frames are ignored. */
  private failWith(error: unknown, step: string | null): void {
    if (this.failed) return;
    this.failed = true;
    const message = error instanceof Error ? error.message : String(error);
    const where = error instanceof StepFailure ? error.step : step;
    void this.send({ t: 'error', message: `${this.name}: ${message}`, step: where }).then(() => this.ws.close());
  }

  private receive(data: unknown, isBinary: boolean): void {
    if (this.failed || this.closed) return;
    try {
      this.accept(decodeFrame(frameBytes(data, isBinary, 'the coordinator'), workerBound, 'the coordinator'));
    } catch (error) {
      this.failWith(error, null);
    }
  }

  private accept({ header, payload }: { header: WorkerBound; payload: Uint8Array }): void {
    const bundle = this.options.bundle;
    if (bundle !== undefined && (header.t === 'setup' || header.t === 'weight' || header.t === 'build'))
      throw new StepFailure(
        `received '${header.t}', but this worker runs the bundle in '${bundle.dir}': it takes no program, weights or sub-models from the network (coordinate it with run --bundle)`,
        'setup',
      );
    if (header.t === 'probe' || header.t === 'probe-compute') return this.probe(header, payload);
    if (header.t === 'setup') return this.setup(header);
    if (header.t === 'attach') return this.attach(header);
    const declared = this.declared;
    if (declared === null) throw new StepFailure(`received '${header.t}' before '${bundle === undefined ? 'setup' : 'attach'}'`, 'setup');
    // Weights, pieces and grants are taken at once (a running step may be waiting for them); the rest runs in order.
    switch (header.t) {
      case 'weight':
        return this.storeWeight(header.key, payload);
      case 'piece':
        return this.storePiece(declared, header, payload);
      case 'grant': {
        const wake = this.granted;
        this.granted = null;
        if (wake === null) throw new Error("received 'grant' without asking for the processor");
        return wake();
      }
      case 'run':
        this.announcedRun = header.run;
        for (const key of this.pieces.keys()) if (!key.startsWith(`${header.run}:`)) this.pieces.delete(key);
        break;
      case 'build':
        break;
    }
    this.queue = this.queue.then(() => this.handle(header)).catch((error) => this.failWith(error, null));
  }

  /**
   * `memorianova probe` (docs/runtime.md, "Probing a cluster"), only before a set-up: each probe restarts the
   * handshake timer, so a probing client that falls silent is still dropped.
   */
  private probe(header: Extract<WorkerBound, { t: 'probe' | 'probe-compute' }>, payload: Uint8Array): void {
    if (this.declared !== null) throw new StepFailure(`received '${header.t}' after the set-up: probes come before it`, 'setup');
    if (payload.length > PROBE_MAX_BYTES) throw new StepFailure(`a probe of ${payload.length} bytes, over ${PROBE_MAX_BYTES}`, 'setup');
    this.restartHandshakeTimer();
    if (header.t === 'probe') {
      void this.send({ t: 'probe-reply', id: header.id, received: payload.length }, new Uint8Array(header.reply));
      return;
    }
    this.queue = this.queue
      .then(async () => {
        const measured = await benchmarkCompute();
        this.restartHandshakeTimer();
        await this.send({ t: 'probe-computed', ...measured, totalMemoryBytes: totalmem() });
      })
      .catch((error) => this.failWith(error, null));
  }

  /** Settings every set-up shares: the slowdown, exclusive compute, the heartbeat; the handshake timer stops. */
  private configure(header: { slowdown: number; heartbeatMs: number; exclusiveCompute?: boolean | undefined }): void {
    if (this.setupTimer !== null) clearTimeout(this.setupTimer);
    this.setupTimer = null;
    this.slowdown = this.options.slowdown ?? header.slowdown;
    this.exclusiveCompute = header.exclusiveCompute ?? false;
    this.heartbeat = setInterval(() => void this.send({ t: 'beat' }), header.heartbeatMs);
  }

  private setup(header: Extract<WorkerBound, { t: 'setup' }>): void {
    if (this.checked !== null) throw new StepFailure("received a second 'setup'", 'setup');
    try {
      this.checked = checkProgram(header.program, this.budget);
    } catch (error) {
      throw new StepFailure((error as Error).message, 'setup');
    }
    // The idle baseline is re-taken here, so memory an earlier client left for the garbage collector (a refused
    // oversized frame is still read off the socket and dropped) is not charged to this program.
    if (this.options.baselineBytes === undefined) this.baseline = residentBytes();
    this.declared = this.checked.pieces;
    this.dtypes = header.program.dtypes;
    this.weightSlices = new Map(header.program.weights.map((w) => [w.key, w]));
    if (header.target !== undefined) this.target = header.target;
    this.configure(header);
  }

  /** A bundle worker's set-up: its steps and sessions are the bundle's, ready since the worker started. */
  private attach(header: Extract<WorkerBound, { t: 'attach' }>): void {
    const bundle = this.options.bundle;
    if (bundle === undefined)
      throw new StepFailure("received 'attach', but this worker has no bundle (start it with worker --bundle DIR/<device>)", 'setup');
    if (this.declared !== null) throw new StepFailure("received a second 'attach'", 'setup');
    this.declared = bundle.pieces;
    this.dtypes = bundle.manifest.dtypes;
    this.steps = bundle.steps;
    this.weightBytes = bundle.manifest.weightBytes;
    this.target = targetOf(bundle.manifest.device);
    this.configure(header);
    void this.send({ t: 'ready', buildMs: bundle.loadMs, sessions: bundle.steps.length });
  }

  private storeWeight(key: string, payload: Uint8Array): void {
    const slice = this.weightSlices.get(key);
    if (slice === undefined) throw new StepFailure(`received weight slice '${key}', which its program does not list`, 'setup');
    if (this.weights.has(key) || this.steps.length > 0) throw new StepFailure(`received weight slice '${key}' twice`, 'setup');
    const expected = this.checked!.weightBytes.get(key)!;
    if (payload.length !== expected)
      throw new StepFailure(`weight slice '${key}' has ${payload.length} bytes, expected ${expected}`, 'setup');
    this.weights.set(key, { dtype: slice.dtype, shape: boxShape(slice.box), bytes: payload.slice() });
  }

  private async handle(header: WorkerBound): Promise<void> {
    switch (header.t) {
      case 'build':
        return this.build();
      case 'run':
        if (header.slowdown !== undefined && this.options.slowdown === undefined) this.slowdown = header.slowdown;
        return this.execute(header.run);
      default:
        throw new Error(`message '${header.t}' is not expected here`);
    }
  }

  private async build(): Promise<void> {
    const program = this.checked!.program;
    if (this.steps.length > 0) throw new StepFailure("received a second 'build'", 'setup');
    const start = performance.now();
    resetPeak();
    for (const w of program.weights) if (!this.weights.has(w.key)) throw new StepFailure(`weight slice '${w.key}' never arrived`, 'setup');
    this.weightBytes = [...this.weights.values()].reduce((n, w) => n + w.bytes.length, 0);
    await this.releaseSessions();
    try {
      await checkTarget(this.target, 'its sessions');
    } catch (error) {
      throw new StepFailure((error as Error).message, 'setup');
    }
    const options = sessionOptions(this.target);
    const plans = planSteps(program);
    for (let s = 0; s < program.steps.length; s++) {
      const step = program.steps[s]!;
      const plan = plans[s]!;
      try {
        const model = buildStepModel(program, step, plan.held, this.weights, plan.keep);
        const inPlace = step.inPlace === undefined ? undefined : inPlaceOf(step.inPlace, plan, model);
        const session = await ort.InferenceSession.create(writeModelBytes(model.graph), options);
        const { name, gathers, uploads } = step;
        this.steps.push({
          name,
          gathers,
          feeds: model.feeds,
          results: model.results,
          uploads,
          release: plan.release,
          session,
          ...(step.assemble === undefined ? {} : { assemble: step.assemble }),
          ...(step.workingBytes === undefined ? {} : { workingBytes: step.workingBytes }),
          ...(inPlace === undefined ? {} : { inPlace }),
        });
      } catch (error) {
        throw new StepFailure(`cannot build the sub-model of step '${step.name}': ${(error as Error).message.split('\n')[0]}`, step.name);
      }
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

  private storePiece(declared: Map<string, DeclaredPiece>, header: Extract<WorkerBound, { t: 'piece' }>, payload: Uint8Array): void {
    const id = `${header.message}:${header.delivery}`;
    const key = `${header.run}:${id}`;
    const refused =
      header.run !== this.announcedRun
        ? `run ${header.run} was not started`
        : this.pieces.has(key)
          ? 'it arrived twice'
          : pieceMismatch(declared.get(id), header.box, payload.length);
    const holdMs = header.at === undefined ? 0 : header.at - hostClockMs();
    const late = holdMs > HOLD_MAX_MS ? `it is to be held ${(holdMs / 1000).toFixed(0)} s` : null;
    if ((refused ?? late) !== null) throw new Error(`refused piece ${id} of run ${header.run}: ${refused ?? late}`);
    const publish = () => {
      this.held.delete(key);
      if (header.run !== this.announcedRun) return;
      this.pieces.set(key, { box: header.box, bytes: payload });
      const wake = this.waiting.get(key);
      if (wake !== undefined) {
        this.waiting.delete(key);
        wake();
      }
    };
    if (holdMs <= 0) return publish();
    // An emulated link's piece travelled at once over loopback; it becomes the worker's when the link would deliver it.
    this.held.add(key);
    setTimeout(publish, holdMs);
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
    const program = this.checked?.program;
    if (program !== undefined && this.steps.length === 0 && program.steps.length > 0)
      throw new StepFailure(`received 'run' before its sub-models were built`, null);
    resetPeak();
    const store = new Map<string, Region>();
    const dtypes = this.dtypes;
    const dtypeOf = (tensor: string): DType => dtypes[tensor]!;
    let computeMs = 0;
    const stepMs: number[] = [];
    let waitMs = 0;
    const sending = new BusyClock();
    let heldPeak = 0;
    let workingPeak = 0;
    let lateMs = 0;
    const heldBytes = () => [...store.values()].reduce((n, r) => n + r.bytes.length, 0);
    const uploads: Array<Promise<void>> = [];
    for (const step of this.steps) {
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
        // A group's whole exits exist from its first tile on (docs/memory.md, "Tiled steps": alloc).
        const assembled = new Map((step.assemble ?? []).map((a) => [a.tensor, a]));
        for (const a of assembled.values())
          if (!store.has(a.tensor)) store.set(a.tensor, emptyRegion(a.region, elementSize(dtypeOf(a.tensor), a.tensor)));
        const feeds: Record<string, ort.Tensor> = {};
        for (const feed of step.feeds) {
          const region = store.get(feed.tensor)!;
          const size = elementSize(dtypeOf(feed.tensor), feed.tensor);
          const data = extractRegion(region, feed.box, size);
          feeds[feed.input] = toOrtTensor(dtypeOf(feed.tensor), data.bytes, boxShape(feed.box), feed.tensor);
        }
        const readyAt = performance.now();
        if (this.exclusiveCompute) await this.acquireProcessor(run);
        const over = step.inPlace === undefined ? undefined : store.get(step.inPlace.input)!;
        const timed = await timedRun(
          step.session,
          feeds,
          over === undefined
            ? undefined
            : { [step.inPlace!.output]: toOrtTensor(dtypeOf(step.inPlace!.input), over.bytes, step.inPlace!.shape, step.inPlace!.input) },
        );
        const { results } = timed;
        // CPU time with one thread; wall-clock time with more.
        const ranMs = runMs(timed, this.target);
        if (this.exclusiveCompute) void this.send({ t: 'computed', run });
        // Waiting for the processor counts as compute time only where it outlasts the emulated step.
        const usedMs = performance.now() - readyAt;
        let stepTime = usedMs;
        if (this.slowdown > 1) {
          // The emulated device needs the step's CPU time × slowdown; the worker sleeps for what the wall clock
          // has not used of it yet. Timers fire late: the lateness is taken off the next sleep.
          stepTime = Math.max(usedMs, ranMs * this.slowdown);
          const stretch = stepTime - usedMs;
          const slept = performance.now();
          await sleep(stretch - lateMs);
          lateMs = Math.max(0, lateMs + (performance.now() - slept) - stretch);
        }
        computeMs += stepTime;
        stepMs.push(stepTime);
        const before = heldBytes();
        let resultBytes = 0;
        for (const result of step.results) {
          if (over !== undefined && result.output === step.inPlace!.output) {
            // onnxruntime wrote it into the input's buffer (its own copy of the output is dropped): one buffer.
            store.delete(step.inPlace!.input);
            store.set(result.tensor, { box: result.box, bytes: over.bytes });
            continue;
          }
          const region = { box: result.box, bytes: ortTensorBytes(results[result.output]!) };
          resultBytes += region.bytes.length;
          const a = assembled.get(result.tensor);
          if (a === undefined) store.set(result.tensor, region);
          else copyRegion(region, store.get(a.tensor)!, a.share, elementSize(dtypeOf(a.tensor), a.tensor));
        }
        // What the worker holds while the sub-model runs plus what the memory model plans inside it, and what it
        // holds once the results are out (before any is copied into its whole tensor or freed).
        workingPeak = Math.max(workingPeak, before + (step.workingBytes ?? 0), before + resultBytes);
        heldPeak = Math.max(heldPeak, heldBytes());
        for (const upload of step.uploads) {
          const region = store.get(upload.tensor)!;
          const size = elementSize(dtypeOf(upload.tensor), upload.tensor);
          upload.parts.forEach((part, index) => {
            const bytes = extractRegion(region, part, size).bytes;
            const sent = sending.begin();
            uploads.push(this.upload(run, upload.message, index, part, bytes).then(sent));
          });
        }
        for (const tensor of step.release) store.delete(tensor);
        this.checkMemory(step.name);
      } catch (error) {
        if (error instanceof StepFailure) throw error;
        throw new StepFailure(`step '${step.name}' failed: ${(error as Error).message.split('\n')[0]}`, step.name);
      }
    }
    await Promise.all(uploads);
    const peakBytes = Math.max(0, peakResidentBytes() - this.baseline);
    await this.send({
      t: 'done',
      run,
      computeMs,
      waitMs,
      sendMs: sending.ms,
      peakBytes,
      tensorPeakBytes: this.weightBytes + heldPeak,
      workingPeakBytes: workingPeak,
      stepMs,
    });
  }

  /** Asks the coordinator for the host's processor and waits for its grant (exclusive compute). */
  private acquireProcessor(run: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.granted = resolve;
      void this.send({ t: 'compute', run });
    });
  }

  /** Sends one upload part (an emulated uplink's occupancy is booked by the router, which adds it to the worker's send time). */
  private upload(run: number, message: number, part: number, box: Box, bytes: Uint8Array): Promise<void> {
    return this.send({ t: 'upload', run, message, part, box, at: hostClockMs() }, bytes);
  }
}
