import WebSocket from 'ws';
import { stringify } from 'yaml';
import type { Cluster, Device } from '../cluster/types.ts';
import { BYTES_PER_MB } from '../cluster/types.ts';
import { validateCluster } from '../cluster/load.ts';
import { fail, MemoriaNovaError } from '../errors.ts';
import { parseHostPort } from './address.ts';
import { AUTH_HEADER, coordinatorProof, newNonce, type Secret } from './auth.ts';
import { fetchChallenge, helloProvesSecret, readBody } from './connect.ts';
import { median } from './reference.ts';
import { coordinatorBound, decodeFrame, encodeFrame, frameBytes, PROBE_MAX_BYTES, type CoordinatorBound } from './protocol.ts';

export interface ProbeOptions {
  secret?: Secret;
  /** The cluster's medium as the user knows it; when absent it is measured (`mediumOf`). */
  medium?: Cluster['medium'];
  /** Bytes of each bandwidth probe, each way (default 4 MiB). */
  bytes?: number;
  /** Round trips timed for the delay (default 20) and transfers timed per direction (default 3). */
  roundTrips?: number;
  transfers?: number;
  timeoutMs?: number;
  /** Called as each worker is done (progress). */
  onWorker?: (index: number, worker: ProbedWorker) => void;
}

/** What `memorianova probe` measured of one worker (definitions: docs/runtime.md, "Probing a cluster"). */
export interface ProbedWorker {
  address: string;
  name: string;
  /** Median round trip of an empty probe, ms. */
  roundTripMs: number;
  /** One hop's delay: half the median empty round trip. */
  latencyMs: number;
  /** Router → device: bytes × 8 / ((median transfer ms − round trip ms) × 1000). */
  downlinkMbps: number;
  /** Device → router, the same from the worker's replies. */
  uplinkMbps: number;
  /** Benchmark FLOPs / median benchmark ms, in GFLOP/s. */
  gflops: number;
  threads: number;
  /** The worker's memory limit (worker --memory-limit), else its machine's total memory. */
  memoryBytes: number;
}

const DEFAULT_BYTES = 4 * 2 ** 20;

/** How the workers' links were found to share (or not) one channel (docs/runtime.md, "Probing a cluster"). */
export interface ProbedMedium {
  medium: Cluster['medium'];
  /** 'measured' by the concurrent download, or 'given' (`--medium`, or a single worker: nothing to share). */
  source: 'measured' | 'given';
  /** All workers' bytes sent to them at once: n × bytes × 8 / ((median wall ms − longest round trip) × 1000). */
  concurrentDownlinkMbps?: number;
}

/**
 * Shared or switched, from the downlink rates measured one worker at a time and the rate of sending to all of them
 * at once: independent links add up (the concurrent rate nears their sum), one channel does not (it stays near the
 * fastest alone). Shared when the concurrent rate is below the midpoint of the fastest alone and the sum.
 */
export function mediumOf(aloneMbps: readonly number[], concurrentMbps: number): Cluster['medium'] {
  const sum = aloneMbps.reduce((s, r) => s + r, 0);
  const fastest = Math.max(...aloneMbps);
  return concurrentMbps < (fastest + sum) / 2 ? 'shared' : 'switched';
}

/**
 * A link's rate from one timed transfer: bytes × 8 / ((transfer ms − empty round trip ms) × 1000) Mbit/s, the round
 * trip taken out as the delays the transfer also paid (at least 1 µs is left, so a transfer as fast as an empty
 * probe gives a large finite rate).
 */
export function transferMbps(bytes: number, transferMs: number, roundTripMs: number): number {
  return (bytes * 8) / (Math.max(transferMs - roundTripMs, 1e-3) * 1000);
}

/**
 * Measures each worker's link and compute through the real worker, one worker at a time (so probes do not share
 * a link), and returns them with the cluster file the planner reads.
 */
export async function probeWorkers(
  addresses: string[],
  options: ProbeOptions = {},
): Promise<{ workers: ProbedWorker[]; medium: ProbedMedium; cluster: Cluster }> {
  if (addresses.length === 0) fail('probe needs at least one worker (--workers host:port,...)', 'usage');
  for (const address of addresses) parseHostPort(address, '--workers: each worker');
  const bytes = options.bytes ?? DEFAULT_BYTES;
  if (!Number.isInteger(bytes) || bytes < 1024 || bytes > PROBE_MAX_BYTES)
    fail(`--bytes must be an integer from 1024 to ${PROBE_MAX_BYTES}`, 'usage');
  const timeoutMs = options.timeoutMs ?? 30_000;
  const transfers = options.transfers ?? 3;
  const workers: ProbedWorker[] = [];
  for (const [i, address] of addresses.entries()) {
    const link = await ProbeLink.open(address, options.secret, timeoutMs);
    try {
      workers.push(await link.measure(bytes, options.roundTrips ?? 20, transfers));
    } finally {
      link.close();
    }
    options.onWorker?.(i, workers[i]!);
  }
  let medium: ProbedMedium;
  if (options.medium !== undefined || workers.length === 1) medium = { medium: options.medium ?? 'switched', source: 'given' };
  else {
    const concurrentDownlinkMbps = await concurrentDownlink(addresses, workers, bytes, transfers, options.secret, timeoutMs);
    const measured = mediumOf(
      workers.map((w) => w.downlinkMbps),
      concurrentDownlinkMbps,
    );
    medium = { medium: measured, source: 'measured', concurrentDownlinkMbps };
  }
  return { workers, medium, cluster: clusterOf(workers, medium.medium) };
}

/** Sends `bytes` to every worker at once, `transfers` times: the rate all the downloads reached together. */
async function concurrentDownlink(
  addresses: string[],
  workers: ProbedWorker[],
  bytes: number,
  transfers: number,
  secret: Secret | undefined,
  timeoutMs: number,
): Promise<number> {
  const links: ProbeLink[] = [];
  try {
    for (const address of addresses) links.push(await ProbeLink.open(address, secret, timeoutMs));
    const times: number[] = [];
    for (let i = 0; i < transfers; i++) {
      const start = performance.now();
      await Promise.all(links.map((link) => link.download(bytes)));
      times.push(performance.now() - start);
    }
    return transferMbps(bytes * links.length, median(times), Math.max(...workers.map((w) => w.roundTripMs)));
  } finally {
    for (const link of links) link.close();
  }
}

/** The cluster file of probed workers: their names (made unique), speeds, memory and links; the router forwards freely. */
export function clusterOf(workers: ProbedWorker[], medium: Cluster['medium'] = 'switched'): Cluster {
  const seen = new Map<string, number>();
  const devices: Device[] = workers.map((w) => {
    const n = (seen.get(w.name) ?? 0) + 1;
    seen.set(w.name, n);
    return {
      name: n === 1 ? w.name : `${w.name}-${n}`,
      gflops: round(w.gflops),
      memoryMB: Math.floor(w.memoryBytes / BYTES_PER_MB),
      uplinkMbps: round(w.uplinkMbps),
      downlinkMbps: round(w.downlinkMbps),
      latencyMs: round(w.latencyMs),
    };
  });
  return validateCluster(
    { name: 'probed', devices, medium, router: { name: 'router', latencyMs: 0, broadcast: true } },
    'the probed cluster',
  );
}

/** The probed cluster as the YAML file `--cluster` reads, headed by what was measured and how. */
export function clusterYaml(cluster: Cluster, workers: ProbedWorker[], medium?: ProbedMedium): string {
  const lines = workers.map(
    (w) =>
      `# ${w.name} (${w.address}): round trip ${w.roundTripMs.toFixed(3)} ms, down ${w.downlinkMbps.toFixed(0)} / up ${w.uplinkMbps.toFixed(0)} Mbit/s, ${w.gflops.toFixed(2)} GFLOP/s on ${w.threads} thread(s)`,
  );
  if (medium?.concurrentDownlinkMbps !== undefined) {
    const sum = workers.reduce((s, w) => s + w.downlinkMbps, 0);
    lines.push(
      `# medium ${medium.medium}: sent to all ${workers.length} at once ${medium.concurrentDownlinkMbps.toFixed(0)} Mbit/s together, against ${sum.toFixed(0)} for their rates alone added up`,
    );
  } else if (medium !== undefined) lines.push(`# medium ${medium.medium}: given, not measured`);
  return `# written by memorianova probe (docs/runtime.md, "Probing a cluster")\n${lines.join('\n')}\n${stringify(cluster)}`;
}

const round = (value: number) => Number(value.toPrecision(4));

type Pending = (header: CoordinatorBound, payload: Uint8Array) => void;

/** One authenticated connection to a worker that answers probes in order. */
class ProbeLink {
  private pending: Pending | null = null;
  private failure: Error | null = null;
  private nextId = 0;

  private constructor(
    private readonly ws: WebSocket,
    readonly address: string,
    readonly hello: Extract<CoordinatorBound, { t: 'hello' }>,
    private readonly timeoutMs: number,
  ) {
    ws.on('message', (data, isBinary) => {
      try {
        const { header, payload } = decodeFrame(frameBytes(data, isBinary, `worker ${address}`), coordinatorBound, `worker ${address}`);
        if (header.t === 'beat') return;
        if (header.t === 'error') throw new MemoriaNovaError(`worker ${address}: ${header.message}`, 'runtime-failure');
        const wake = this.pending;
        this.pending = null;
        wake?.(header, payload);
      } catch (error) {
        this.fail(error as Error);
      }
    });
    ws.on('close', () => this.fail(new MemoriaNovaError(`worker ${address} closed the connection while being probed`, 'runtime-failure')));
    ws.on('error', (error) => this.fail(new MemoriaNovaError(`worker ${address}: ${error.message}`, 'runtime-failure')));
  }

  static async open(address: string, secret: Secret | undefined, timeoutMs: number): Promise<ProbeLink> {
    const nonce = newNonce();
    const challenge =
      secret === undefined
        ? null
        : await fetchChallenge(address, timeoutMs).catch((error: Error) => fail(`worker ${address}: ${error.message}`, 'runtime-failure'));
    const ws = new WebSocket(`ws://${address}`, {
      maxPayload: PROBE_MAX_BYTES + (1 << 16),
      perMessageDeflate: false,
      handshakeTimeout: timeoutMs,
      ...(secret === undefined || challenge === null ? {} : { headers: { [AUTH_HEADER]: coordinatorProof(secret, challenge, nonce) } }),
    });
    const hello = await new Promise<Extract<CoordinatorBound, { t: 'hello' }>>((resolve, reject) => {
      const refuse = (message: string) => reject(new MemoriaNovaError(`worker ${address}: ${message}`, 'runtime-failure'));
      ws.once('unexpected-response', (req, res) => {
        void readBody(res).then((body) => {
          req.destroy();
          refuse(`refused the connection (HTTP ${res.statusCode}): ${body === '' ? res.statusMessage : body}`);
        });
      });
      ws.once('error', (error) => refuse(`connection failed (${error.message})`));
      ws.once('message', (data, isBinary) => {
        try {
          const { header } = decodeFrame(frameBytes(data, isBinary, `worker ${address}`), coordinatorBound, `worker ${address}`);
          if (header.t !== 'hello') return refuse(`sent '${header.t}' before its hello`);
          if (!helloProvesSecret(secret, nonce, challenge, header.proof))
            return refuse('did not prove that it knows the secret (it was started with another one, or none)');
          resolve(header);
        } catch (error) {
          reject(error);
        }
      });
    }).catch((error: Error) => {
      ws.terminate();
      throw error;
    });
    return new ProbeLink(ws, address, hello, timeoutMs);
  }

  close(): void {
    this.ws.removeAllListeners('close');
    this.ws.terminate();
  }

  private fail(error: Error): void {
    if (this.failure !== null) return;
    this.failure = error;
    const wake = this.pending;
    this.pending = null;
    wake?.({ t: 'error', message: error.message, step: null }, new Uint8Array(0));
  }

  /** Sends one request and waits for its answer; ms is the wall time between them. */
  private async ask(
    header: Parameters<typeof encodeFrame>[0],
    payload?: Uint8Array,
  ): Promise<{ header: CoordinatorBound; payload: Uint8Array; ms: number }> {
    if (this.failure !== null) throw this.failure;
    const answer = new Promise<{ header: CoordinatorBound; payload: Uint8Array }>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          this.fail(new MemoriaNovaError(`worker ${this.address} did not answer a probe within ${this.timeoutMs} ms`, 'runtime-failure')),
        this.timeoutMs,
      );
      this.pending = (h, p) => {
        clearTimeout(timer);
        if (this.failure !== null) reject(this.failure);
        else resolve({ header: h, payload: p });
      };
    });
    const start = performance.now();
    this.ws.send(encodeFrame(header, payload));
    const got = await answer;
    return { ...got, ms: performance.now() - start };
  }

  /** One transfer of `bytes` to the worker (a 0-byte reply): its wall ms. */
  download(bytes: number): Promise<number> {
    return this.echo(bytes, 0);
  }

  private async echo(send: number, reply: number): Promise<number> {
    const id = this.nextId++;
    const { header, payload, ms } = await this.ask({ t: 'probe', id, reply }, new Uint8Array(send));
    if (header.t !== 'probe-reply' || header.id !== id || header.received !== send || payload.length !== reply)
      fail(
        `worker ${this.address} answered a probe with '${header.t}' of ${payload.length} bytes (expected a ${reply}-byte reply)`,
        'runtime-failure',
      );
    return ms;
  }

  async measure(bytes: number, roundTrips: number, transfers: number): Promise<ProbedWorker> {
    await this.echo(0, 0);
    const trips: number[] = [];
    for (let i = 0; i < roundTrips; i++) trips.push(await this.echo(0, 0));
    const roundTripMs = median(trips);
    const rate = (times: number[]) => transferMbps(bytes, median(times), roundTripMs);
    const down: number[] = [];
    const up: number[] = [];
    for (let i = 0; i < transfers; i++) {
      down.push(await this.echo(bytes, 0));
      up.push(await this.echo(0, bytes));
    }
    const { header } = await this.ask({ t: 'probe-compute' });
    if (header.t !== 'probe-computed') fail(`worker ${this.address} answered the compute probe with '${header.t}'`, 'runtime-failure');
    return {
      address: this.address,
      name: this.hello.name,
      roundTripMs,
      latencyMs: roundTripMs / 2,
      downlinkMbps: rate(down),
      uplinkMbps: rate(up),
      gflops: header.flops / (header.ms * 1e6),
      threads: header.threads,
      memoryBytes: this.hello.memoryLimitBytes ?? header.totalMemoryBytes,
    };
  }
}
