import assert from 'node:assert/strict';
import fc from 'fast-check';
import { get } from 'node:http';
import { connect, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import WebSocket from 'ws';
import { MemoriaNovaError } from '../errors.ts';
import { AUTH_HEADER, CHALLENGE_PATH, coordinatorProof, freshToken, newNonce, secretFrom } from './auth.ts';
import { compileProgram } from './program.ts';
import { coordinatorBound, decodeFrame, encodeFrame } from './protocol.ts';
import { runPlan } from './run.ts';
import { smallCnn, smallCnnRowPlan } from './testing.ts';
import { startWorker, type RunningWorker } from './worker.ts';

// The worker as an attacker on this host sees it (docs/runtime.md, "Security model"): every test talks to real
// workers on loopback, and every worker must still run a real plan afterwards.

const model = smallCnn();
const plan = smallCnnRowPlan(model);
const secret = secretFrom(freshToken(), 'test');
const refusals: string[] = [];
const workers: RunningWorker[] = [];
after(async () => {
  for (const w of workers) await w.close();
});

async function worker(options: { secret?: boolean; memoryLimitBytes?: number; handshakeTimeoutMs?: number } = {}): Promise<RunningWorker> {
  const w = await startWorker({
    host: '127.0.0.1',
    port: 0,
    log: (line) => refusals.push(line),
    ...(options.secret === true ? { secret } : {}),
    ...(options.memoryLimitBytes === undefined ? {} : { memoryLimitBytes: options.memoryLimitBytes }),
    ...(options.handshakeTimeoutMs === undefined ? {} : { handshakeTimeoutMs: options.handshakeTimeoutMs }),
  });
  workers.push(w);
  return w;
}

async function runsAPlan(addresses: string[], withSecret: boolean): Promise<void> {
  const report = await runPlan(model, plan, {
    workers: addresses,
    runs: 1,
    warmup: 0,
    timeoutMs: 20_000,
    ...(withSecret ? { secret } : {}),
  });
  assert.ok(report.maxAbsError <= 1e-4, `output differs by ${report.maxAbsError}`);
}

/** A raw TCP exchange: writes `bytes`, returns what came back until the worker closed the socket (or 3 s passed). */
function raw(address: string, bytes: Buffer | string, then?: (socket: Socket, received: () => string) => void): Promise<string> {
  const [host, port] = address.split(':');
  return new Promise((resolve) => {
    const socket = connect(Number(port), host!);
    let received = '';
    const timer = setTimeout(() => socket.destroy(), 3000);
    socket.on('data', (data) => {
      received += data.toString('latin1');
      then?.(socket, () => received);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.write(bytes);
  });
}

/** The opcodes of the (unmasked) frames a server sent, in order. */
function serverOpcodes(bytes: Buffer): number[] {
  const opcodes: number[] = [];
  for (let at = 0; at + 2 <= bytes.length;) {
    opcodes.push(bytes[at]! & 0x0f);
    const short = bytes[at + 1]! & 0x7f;
    const [length, header] =
      short === 126 ? [bytes.readUInt16BE(at + 2), 4] : short === 127 ? [Number(bytes.readBigUInt64BE(at + 2)), 10] : [short, 2];
    at += header + length;
  }
  return opcodes;
}

const UPGRADE = (extra = '') =>
  'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`;

function challengeOf(address: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(`http://${address}${CHALLENGE_PATH}`, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

/** A WebSocket to a worker without a secret, retried while it still serves the previous (just closed) client. */
async function openWhenFree(address: string): Promise<WebSocket> {
  for (let attempt = 0; ; attempt++) {
    const ws = new WebSocket(`ws://${address}`);
    ws.on('error', () => undefined);
    const opened = await new Promise<boolean>((resolve) => {
      ws.once('open', () => resolve(true));
      ws.once('unexpected-response', () => resolve(false));
    });
    if (opened) return ws;
    assert.ok(attempt < 100, 'the worker kept refusing new connections');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** An authenticated WebSocket to the worker and the first error it reports once `frame` is sent. */
async function workerError(address: string, frame: Buffer): Promise<string> {
  const challenge = await challengeOf(address);
  const ws = new WebSocket(`ws://${address}`, { headers: { [AUTH_HEADER]: coordinatorProof(secret, challenge, newNonce()) } });
  const errors: string[] = [];
  const closed = new Promise<void>((resolve) => ws.on('close', () => resolve()));
  ws.on('message', (data) => {
    const { header } = decodeFrame(data as Buffer, coordinatorBound, 'worker');
    if (header.t === 'error') errors.push(header.message);
  });
  await new Promise((resolve) => ws.once('open', resolve));
  ws.send(frame, { binary: true });
  await closed;
  assert.equal(errors.length, 1, 'one error frame, then the worker closes the connection');
  return errors[0]!;
}

describe('worker security', () => {
  it('without the secret nothing reaches the WebSocket layer; a wrong secret fails the run in one line; the right one runs', async () => {
    const a = await worker({ secret: true });
    const b = await worker({ secret: true });
    const answer = await raw(a.address, UPGRADE());
    assert.match(answer, /^HTTP\/1\.1 401 /, 'an upgrade without a proof is refused with 401');
    const forged = await raw(a.address, UPGRADE(`${AUTH_HEADER}: ${newNonce()}.${newNonce()}.${newNonce()}\r\n`));
    assert.match(forged, /^HTTP\/1\.1 401 /, 'a proof for a challenge the worker never gave is refused');
    assert.ok(
      refusals.some((line) => /refused a connection from 127\.0\.0\.1:\d+: no authentication/.test(line)),
      `the refusal is logged with the peer's address: ${refusals.join(' | ')}`,
    );
    const wrong = secretFrom(freshToken(), 'other');
    await assert.rejects(
      runPlan(model, plan, { workers: [a.address, b.address], runs: 1, warmup: 0, timeoutMs: 10_000, secret: wrong }),
      (error: unknown) =>
        error instanceof MemoriaNovaError && /refused the connection \(HTTP 401\)/.test(error.message) && !error.message.includes('\n'),
    );
    await runsAPlan([a.address, b.address], true);
  });

  it('a program that names a file, or more memory than the worker has, is refused at validation; the worker still serves', async () => {
    const a = await worker({ secret: true, memoryLimitBytes: 64 * 2 ** 20 });
    const b = await worker({ secret: true });
    const program = compileProgram(model, plan).workers[0]!;
    const setup = (p: unknown) => encodeFrame({ t: 'setup', program: p, slowdown: 1, heartbeatMs: 1000 } as never);
    const op = program.steps[0]!.ops[0]!;
    const fileReading = structuredClone(program);
    fileReading.steps[0]!.ops[0]!.node.attributes['value'] = {
      type: 'tensor',
      value: { name: 'x', dtype: 'float32', shape: [1], data: { kind: 'external', baseDir: '/', location: 'etc/passwd' } },
    } as never;
    assert.match(await workerError(a.address, setup(fileReading)), /unexpected message 'setup' from the coordinator: .*attributes/);
    const huge = structuredClone(program);
    huge.steps[0]!.gathers[0]!.region = [
      [0, 1],
      [0, 1024],
      [0, 1024],
      [0, 400],
    ];
    assert.match(
      await workerError(a.address, setup(huge)),
      /invalid program: the region of '.*' gathered by step '.*' needs 1600\.0 MiB, above this worker's memory limit 64\.0 MiB/,
    );
    const unknownOp = structuredClone(program);
    unknownOp.steps[0]!.ops[0]!.node.opType = 'ReadFile';
    assert.match(
      await workerError(a.address, setup(unknownOp)),
      new RegExp(`operator '${op.node.name}' has type 'ReadFile', which the runtime does not run`),
    );
    await runsAPlan([a.address, b.address], true);
  });

  it('a frame larger than the worker may hold is refused unread (1009); weights and pieces before the program are refused', async () => {
    const a = await worker({ secret: true, memoryLimitBytes: 64 * 2 ** 20 });
    const b = await worker({ secret: true });
    const challenge = await challengeOf(a.address);
    const ws = new WebSocket(`ws://${a.address}`, { headers: { [AUTH_HEADER]: coordinatorProof(secret, challenge, newNonce()) } });
    ws.on('error', () => undefined);
    await new Promise((resolve) => ws.once('open', resolve));
    const code = new Promise<number>((resolve) => ws.once('close', (c) => resolve(c)));
    ws.send(encodeFrame({ t: 'weight', key: 'w' }, new Uint8Array(65 * 2 ** 20)), { binary: true });
    assert.equal(await code, 1009, 'closed as too big');
    assert.match(
      await workerError(a.address, encodeFrame({ t: 'weight', key: 'w' }, new Uint8Array(8))),
      /received 'weight' before 'setup'/,
    );
    assert.match(
      await workerError(a.address, encodeFrame({ t: 'piece', run: 0, message: 0, delivery: 0, box: [[0, 1]] }, new Uint8Array(4))),
      /received 'piece' before 'setup'/,
    );
    await runsAPlan([a.address, b.address], true);
  });

  it('malformed WebSocket frames and connection resets close that connection, never the worker', async () => {
    const a = await worker();
    const b = await worker();
    const mask = Buffer.from([1, 2, 3, 4]);
    const tenGiB = Buffer.alloc(8);
    tenGiB.writeBigUInt64BE(10n * 2n ** 30n);
    const frames: Array<[string, Buffer]> = [
      ['a bad opcode', Buffer.concat([Buffer.from([0x83, 0x80]), mask])],
      ['RSV1 set', Buffer.concat([Buffer.from([0xc2, 0x80]), mask])],
      ['an unmasked client frame', Buffer.from([0x82, 0x03, 1, 2, 3])],
      ['a declared length of 10 GiB', Buffer.concat([Buffer.from([0x82, 0xff]), tenGiB, mask])],
    ];
    for (const [what, frame] of frames) {
      let sent = false;
      const answer = await raw(a.address, UPGRADE(), (socket, received) => {
        if (!sent && received().includes('\r\n\r\n')) {
          sent = true;
          socket.write(frame);
        }
      });
      assert.match(answer, /^HTTP\/1\.1 101 /, `${what}: the upgrade itself succeeds`);
      const opcodes = serverOpcodes(Buffer.from(answer.slice(answer.indexOf('\r\n\r\n') + 4), 'latin1'));
      assert.deepEqual(opcodes, [0x2, 0x8], `${what}: the worker's hello, then a close frame`);
    }
    // Resets: half an HTTP request, and an upgrade dropped at once while another coordinator is connected.
    const half = connect(Number(a.address.split(':')[1]), '127.0.0.1');
    half.on('error', () => undefined);
    half.write('GET / HT');
    half.resetAndDestroy();
    const busy = new WebSocket(`ws://${b.address}`);
    await new Promise((resolve) => busy.once('open', resolve));
    const refused = await raw(b.address, UPGRADE());
    assert.match(refused, /^HTTP\/1\.1 409 /, 'a second coordinator is refused while one is connected');
    const reset = connect(Number(b.address.split(':')[1]), '127.0.0.1');
    reset.on('error', () => undefined);
    reset.write(UPGRADE());
    reset.resetAndDestroy();
    busy.close();
    await new Promise((resolve) => busy.once('close', resolve));
    await runsAPlan([a.address, b.address], false);
  });

  it('a client that connects and sends nothing is dropped after the handshake timeout', async () => {
    const a = await worker({ handshakeTimeoutMs: 300 });
    const started = performance.now();
    const idle = new WebSocket(`ws://${a.address}`);
    await new Promise((resolve) => idle.once('open', resolve));
    await new Promise((resolve) => idle.once('close', resolve));
    const waited = performance.now() - started;
    assert.ok(waited >= 250 && waited < 5000, `dropped after ${waited.toFixed(0)} ms`);
  });

  it('random byte frames and random JSON headers (property, 60 cases): the worker never exits and still runs a plan', async () => {
    const a = await worker();
    const b = await worker();
    const header = fc.oneof(
      fc.json(),
      fc.record({ t: fc.constantFrom('setup', 'weight', 'build', 'run', 'piece', 'grant'), run: fc.integer(), key: fc.string() }),
    );
    const frame = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc.tuple(header, fc.uint8Array({ maxLength: 32 })).map(([h, payload]) => {
        const head = Buffer.from(typeof h === 'string' ? h : JSON.stringify(h));
        const length = Buffer.alloc(4);
        length.writeUInt32LE(head.length);
        return new Uint8Array(Buffer.concat([length, head, payload]));
      }),
    );
    await fc.assert(
      fc.asyncProperty(frame, async (bytes) => {
        const ws = await openWhenFree(a.address);
        const answered = new Promise<void>((resolve) => {
          ws.on('message', () => resolve());
          ws.on('close', () => resolve());
        });
        ws.send(bytes, { binary: true });
        await Promise.race([answered, new Promise((resolve) => setTimeout(resolve, 200))]);
        ws.terminate();
      }),
      { numRuns: 60, seed: 11 },
    );
    await runsAPlan([a.address, b.address], false);
  });
});
