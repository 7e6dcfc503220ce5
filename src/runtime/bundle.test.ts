import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { presetCluster } from '../cluster/presets.ts';
import type { Model } from '../ir/graph.ts';
import { loadModel } from '../model/load.ts';
import { proportionalPlan } from '../plan/build.ts';
import type { Plan } from '../plan/types.ts';
import { loadDeviceBundle, type LoadedBundle } from './bundle.ts';
import { writeBundle } from './deploy.ts';
import { readBundleIndex } from './manifest.ts';
import { compileProgram } from './program.ts';
import { coordinatorBound, decodeFrame, encodeFrame } from './protocol.ts';
import { withInlineWeights } from './reference.ts';
import { runPlan } from './run.ts';
import { smallCnn, smallCnnRowPlan } from './testing.ts';
import { startWorker, type RunningWorker } from './worker.ts';

const dir = mkdtempSync(join(tmpdir(), 'memorianova-bundle-'));
const running: RunningWorker[] = [];
const loaded: LoadedBundle[] = [];
after(async () => {
  for (const w of running) await w.close();
  for (const b of loaded) for (const s of b.steps) await s.session.release();
  rmSync(dir, { recursive: true, force: true });
});

/** Deploys the plan into `name`, loads each device folder and starts an in-process worker on it. */
async function bundleWorkers(model: Model, plan: Plan, name: string): Promise<{ out: string; addresses: string[] }> {
  const out = join(dir, name);
  writeBundle(model, plan, out, { externalDataAboveBytes: 2048 });
  const addresses: string[] = [];
  for (const device of readBundleIndex(out).devices) {
    const bundle = await loadDeviceBundle(join(out, device.folder));
    loaded.push(bundle);
    const w = await startWorker({ host: '127.0.0.1', port: 0, name: device.name, bundle, log: () => undefined });
    running.push(w);
    addresses.push(w.address);
  }
  return { out, addresses };
}

const runBundle = (model: Model, plan: Plan, out: string, workers: string[]) =>
  runPlan(model, plan, { workers, runs: 2, warmup: 1, timeoutMs: 20_000, bundle: { dir: out, index: readBundleIndex(out) } });

describe('workers from bundles', () => {
  const cnn = smallCnn();
  const plan = smallCnnRowPlan(cnn);
  let out = '';
  let addresses: string[] = [];
  before(async () => {
    ({ out, addresses } = await bundleWorkers(cnn, plan, 'cnn'));
  });

  it("runs the plan from the workers' own files: outputs equal the whole model, every coordinator reuses the sessions", async () => {
    for (let coordinator = 0; coordinator < 2; coordinator++) {
      const report = await runBundle(cnn, plan, out, addresses);
      assert.ok(report.maxAbsError <= 1e-4, `max abs error ${report.maxAbsError}`);
      assert.equal(report.bundle, true);
      assert.ok(report.firstResultMs >= report.setupMs && report.setupMs > 0, 'time to first result includes the set-up');
    }
  });

  it('refuses programs, weights and sub-models from the network, and a coordinator that would ship them', async () => {
    const program = compileProgram(withInlineWeights(cnn), plan).workers[0]!;
    const ws = new WebSocket(`ws://${addresses[0]}`, { perMessageDeflate: false });
    const frames: Array<{ t: string; message?: string }> = [];
    await new Promise<void>((resolve) => {
      ws.on('message', (data: Buffer) => {
        const { header } = decodeFrame(data, coordinatorBound, 'worker');
        frames.push(header as { t: string; message?: string });
        if (header.t === 'hello') {
          ws.send(encodeFrame({ t: 'setup', program, slowdown: 1, heartbeatMs: 1000 }));
          ws.send(encodeFrame({ t: 'weight', key: program.weights[0]!.key }, new Uint8Array(16)));
        }
      });
      ws.on('close', () => resolve());
    });
    const hello = frames[0] as unknown as { bundle: { device: number; manifestSha256: string } };
    assert.equal(hello.bundle.device, 0);
    assert.equal(hello.bundle.manifestSha256, readBundleIndex(out).devices[0]!.manifest.sha256);
    const error = frames.find((f) => f.t === 'error');
    assert.match(
      error?.message ?? '',
      /received 'setup', but this worker runs the bundle in .*: it takes no program, weights or sub-models/,
    );
    assert.equal(frames.filter((f) => f.t === 'error').length, 1, 'one error, then the connection closes');

    // A coordinator that ships the plan (no --bundle) is told to coordinate it with run --bundle.
    await assert.rejects(
      runPlan(cnn, plan, { workers: addresses, runs: 1, warmup: 0, timeoutMs: 20_000 }),
      /runs a bundle \(started with worker --bundle\): coordinate it with run --bundle/,
    );
    const report = await runBundle(cnn, plan, out, addresses);
    assert.ok(report.maxAbsError <= 1e-4, 'the workers still run their bundle');
  });

  it('the coordinator refuses workers in the wrong order, a bundle of another plan, and workers without a bundle', async () => {
    await assert.rejects(
      runBundle(cnn, plan, out, [...addresses].reverse()),
      /runs another device or bundle \(device 1,.*than .*pi1 \(device 0/,
    );
    const other = await bundleWorkers(cnn, proportionalPlan(cnn, presetCluster('homo2')!, plan.order, ['channels']), 'cnn-channels');
    await assert.rejects(runBundle(cnn, plan, out, other.addresses), /runs another device or bundle/);
    const plain = await startWorker({ host: '127.0.0.1', port: 0, log: () => undefined });
    running.push(plain);
    await assert.rejects(
      runBundle(cnn, plan, out, [addresses[0]!, plain.address]),
      /was not started from a bundle: start it with worker --bundle .*pi2/,
    );
  });

  it('a tampered sub-model stops the worker before it listens, naming the file', async () => {
    const copy = join(dir, 'tampered');
    writeBundle(cnn, plan, copy, { externalDataAboveBytes: 2048 });
    const device = join(copy, 'pi2');
    const file = join(device, JSON.parse(readFileSync(join(device, 'manifest.json'), 'utf8')).steps[0].model.file);
    const bytes = readFileSync(file);
    bytes[bytes.length - 1]! ^= 1;
    writeFileSync(file, bytes);
    await assert.rejects(loadDeviceBundle(device), (e: Error) => e.message.includes(file) && /SHA-256.*refusing to start/.test(e.message));
  });

  it('BERT (1 layer, 8 tokens) split by tokens over two bundle workers equals the whole model', async () => {
    const bert = loadModel('bert-base', { layers: 1, seqLen: 8 });
    const bertPlan = proportionalPlan(
      bert,
      presetCluster('homo2')!,
      bert.ops.map((op) => op.node.name),
      ['tokens', 'channels'],
    );
    const bertBundle = await bundleWorkers(bert, bertPlan, 'bert');
    const report = await runBundle(bert, bertPlan, bertBundle.out, bertBundle.addresses);
    assert.ok(report.maxAbsError <= 1e-4, `max abs error ${report.maxAbsError}`);
  });
});
