import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Worker } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../ir/builder.ts';
import { writeModelBytes } from '../onnx/write.ts';
import { SESSION_OPTIONS, timedRun } from './tensors.ts';

it(
  "timedRun: a session run's CPU time is the calling thread's, not what another thread of the process burns meanwhile",
  { skip: process.platform !== 'linux' ? 'per-thread CPU times come from /proc (Linux)' : false },
  async () => {
    const b = new GraphBuilder('matmul');
    const x = b.input('x', 'float32', [256, 256]);
    b.output(b.op('MatMul', [x, b.weight('w', [256, 256])]));
    const session = await ort.InferenceSession.create(writeModelBytes(b.build()), SESSION_OPTIONS);
    const feeds = { x: new ort.Tensor('float32', new Float32Array(256 * 256).fill(0.5), [256, 256]) };
    await session.run(feeds);
    // Another thread spins for the whole measurement, as V8's garbage-collection helpers may.
    const burner = new Worker('const end = Date.now() + 1500; while (Date.now() < end);', { eval: true });
    await new Promise((resolve) => setTimeout(resolve, 100));
    let threadMs = 0;
    const process0 = process.cpuUsage();
    const started = performance.now();
    while (performance.now() - started < 600) threadMs += (await timedRun(session, feeds)).cpuMs;
    const used = process.cpuUsage(process0);
    const processMs = (used.user + used.system) / 1000;
    await burner.terminate();
    await session.release();
    assert.ok(processMs > threadMs + 150, `the process used ${processMs.toFixed(0)} ms of CPU, the runs ${threadMs.toFixed(0)} ms`);
    assert.ok(threadMs > 0 && threadMs <= 700, `the runs' CPU time ${threadMs.toFixed(0)} ms is at most their wall time`);
  },
);
