import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { presetCluster } from '../cluster/presets.ts';
import { MemoriaNovaError } from '../errors.ts';
import type { LocalWorkers } from './local.ts';
import { coordinatorBound, decodeFrame, encodeFrame, workerBound } from './protocol.ts';
import { runPlan } from './run.ts';
import { smallCnn, smallCnnRowPlan } from './testing.ts';
import { startWorker } from './worker.ts';

const model = smallCnn();
const cluster = presetCluster('homo2')!;
const plan = smallCnnRowPlan(model);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function rejectsWith(promise: Promise<unknown>, pattern: RegExp): Promise<string> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof MemoriaNovaError, `not a MemoriaNovaError: ${String(error)}`);
    assert.match(error.message, pattern);
    assert.ok(!error.message.includes('\n'), 'one line');
    return error.message;
  }
  assert.fail('the run did not fail');
}

describe('faults', () => {
  it('a local worker killed mid-run: the run fails naming the worker and the step, and no worker outlives it', async () => {
    let workers: LocalWorkers | undefined;
    const start = performance.now();
    await rejectsWith(
      runPlan(model, plan, {
        local: 2,
        runs: 100_000,
        warmup: 0,
        timeoutMs: 5000,
        onLocalWorkers: (w) => (workers = w),
        onRun: (run) => run === 2 && process.kill(workers!.pids[1]!, 'SIGKILL'),
      }),
      /^worker pi2 \(127\.0\.0\.1:\d+\) closed the connection during run \d+, step '[^']+' \(process \d+ was killed by SIGKILL\)$/,
    );
    assert.ok(performance.now() - start < 60_000);
    assert.ok(workers !== undefined);
    for (const pid of workers.pids) assert.equal(alive(pid), false, `worker process ${pid} still runs`);
  });

  it('a local worker that hangs mid-run (SIGSTOP): the run fails after the timeout, naming worker, run and step', async () => {
    let workers: LocalWorkers | undefined;
    await rejectsWith(
      runPlan(model, plan, {
        local: 2,
        runs: 100_000,
        warmup: 0,
        timeoutMs: 1500,
        onLocalWorkers: (w) => (workers = w),
        onRun: (run) => run === 1 && process.kill(workers!.pids[0]!, 'SIGSTOP'),
      }),
      /^worker pi1 \(127\.0\.0\.1:\d+\) sent nothing for \d+ ms \(timeout 1500 ms\) during run 2, step '[^']+'$/,
    );
    for (const pid of workers!.pids) assert.equal(alive(pid), false, `worker process ${pid} still runs`);
  });

  it('a worker that exceeds its memory limit fails the run at a named step', async () => {
    await rejectsWith(
      runPlan(model, plan, { local: 2, runs: 1, warmup: 0, timeoutMs: 10_000, memoryLimitMB: 0.1 }),
      /^worker pi\d \(127\.0\.0\.1:\d+\) failed during step '[^']+': local\d: memory limit exceeded at step '[^']+': [\d.]+ MiB above the idle baseline, limit 0\.1 MiB$/,
    );
  });

  it('a worker that never answers: the run fails within the timeout', async () => {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((resolve) => server.once('listening', resolve));
    const port = (server.address() as { port: number }).port;
    const real = await startWorker({ host: '127.0.0.1', port: 0 });
    const start = performance.now();
    try {
      const { compileProgram } = await import('./program.ts');
      const { executeProgram } = await import('./coordinator.ts');
      await rejectsWith(
        executeProgram(compileProgram(model, plan), cluster, {
          workers: [real.address, `127.0.0.1:${port}`],
          runs: 1,
          warmup: 0,
          inputs: new Map(),
          emulateLinks: false,
          slowdowns: [1, 1],
          timeoutMs: 400,
        }),
        /^worker pi2 \(127\.0\.0\.1:\d+\) sent nothing for \d+ ms \(timeout 400 ms\) during step 'connect'$/,
      );
      assert.ok(performance.now() - start < 5000);
    } finally {
      for (const client of server.clients) client.terminate();
      server.close();
      await real.close();
    }
  });

  it('a worker rejects malformed and unexpected frames with an error naming them, then closes', async () => {
    const worker = await startWorker({ host: '127.0.0.1', port: 0, name: 'w-bad' });
    try {
      const bad: Array<[Buffer | string, RegExp]> = [
        [Buffer.from([1, 2]), /malformed frame from the coordinator: 2 bytes/],
        [Buffer.from([255, 255, 0, 0, 1]), /header length 65535 exceeds the frame/],
        [encodeFrame({ t: 'run', run: 0 }).subarray(0, 8), /header length \d+ exceeds the frame/],
        [Buffer.concat([Buffer.from([3, 0, 0, 0]), Buffer.from('{x}')]), /the header is not UTF-8 JSON/],
        [Buffer.concat([Buffer.from([13, 0, 0, 0]), Buffer.from('{"t":"steal"}')]), /unexpected message 'steal' from the coordinator/],
        ['hello', /a text frame/],
        [encodeFrame({ t: 'run', run: 0 }), /received 'run' before 'setup'/],
        [encodeFrame({ t: 'grant', run: 0 }), /received 'grant' before 'setup'/],
      ];
      for (const [frame, pattern] of bad) {
        const ws = new WebSocket(`ws://${worker.address}`);
        const frames: string[] = [];
        const closed = new Promise<void>((resolve) => ws.on('close', () => resolve()));
        ws.on('message', (data) => {
          const { header } = decodeFrame(data as Buffer, coordinatorBound, 'worker');
          if (header.t === 'error') frames.push(header.message);
        });
        await new Promise((resolve) => ws.once('open', resolve));
        ws.send(frame, { binary: typeof frame !== 'string' });
        await closed;
        assert.equal(frames.length, 1, `one error for ${pattern}`);
        assert.match(frames[0]!, pattern);
      }
    } finally {
      await worker.close();
    }
  });

  for (const [what, frame, pattern] of [
    [
      'an upload outside a run',
      encodeFrame({ t: 'upload', run: 7, message: 0, part: 0, box: [], at: 1 }),
      /^unexpected message 'upload' from worker pi1 \(127\.0\.0\.1:\d+\) during step '(connect|setup)' \(run 7\)$/,
    ],
    [
      'a processor release it does not hold',
      encodeFrame({ t: 'computed', run: 0 }),
      /^unexpected message 'computed' from worker pi1 \(127\.0\.0\.1:\d+\) during step '(connect|setup)'$/,
    ],
  ] as const)
    it(`the coordinator rejects an unexpected frame from a worker: ${what}`, async () => {
      const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
      await new Promise((resolve) => server.once('listening', resolve));
      server.on('connection', (ws) => {
        ws.send(encodeFrame({ t: 'hello', name: 'fake', memoryLimitBytes: null, proof: null, bundle: null }));
        ws.send(frame);
      });
      const port = (server.address() as { port: number }).port;
      const { compileProgram } = await import('./program.ts');
      const { executeProgram } = await import('./coordinator.ts');
      try {
        const single = { ...cluster, devices: cluster.devices.slice(0, 1) };
        const { singleDevicePlan } = await import('../plan/build.ts');
        const p = singleDevicePlan(model, single, plan.order, 0);
        await rejectsWith(
          executeProgram(compileProgram(model, p), single, {
            workers: [`127.0.0.1:${port}`],
            runs: 1,
            warmup: 0,
            inputs: new Map(),
            emulateLinks: false,
            slowdowns: [1],
            timeoutMs: 2000,
          }),
          pattern,
        );
      } finally {
        for (const client of server.clients) client.terminate();
        server.close();
      }
      assert.ok(workerBound !== undefined);
    });
});
