import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { parseCluster } from '../cluster/load.ts';
import { freshToken, secretFrom } from './auth.ts';
import { benchmarkModel } from './probe-compute.ts';
import { clusterOf, clusterYaml, mediumOf, probeWorkers, transferMbps, type ProbedWorker } from './probe.ts';
import { runPlan } from './run.ts';
import { smallCnn, smallCnnRowPlan } from './testing.ts';
import { startWorker, type RunningWorker } from './worker.ts';

const secret = secretFrom(freshToken(), 'probe test');
const workers: RunningWorker[] = [];
after(async () => {
  for (const w of workers) await w.close();
});

async function worker(name: string, memoryLimitBytes?: number): Promise<RunningWorker> {
  const w = await startWorker({
    host: '127.0.0.1',
    port: 0,
    name,
    secret,
    log: () => undefined,
    ...(memoryLimitBytes === undefined ? {} : { memoryLimitBytes }),
  });
  workers.push(w);
  return w;
}

const quick = { secret, bytes: 1 << 16, roundTrips: 3, transfers: 1, timeoutMs: 20_000 };

describe('memorianova probe', () => {
  it('measures real workers through the authenticated protocol and writes a cluster file the planner reads', async () => {
    const [a, b] = [await worker('alpha'), await worker('beta', 512 * 2 ** 20)];
    const { workers: probed, medium, cluster } = await probeWorkers([a.address, b.address], quick);
    assert.equal(medium.source, 'measured', 'two workers: the medium is measured');
    assert.ok(medium.concurrentDownlinkMbps! > 0, `concurrent downlink ${medium.concurrentDownlinkMbps}`);
    assert.equal(
      cluster.medium,
      mediumOf(
        probed.map((w) => w.downlinkMbps),
        medium.concurrentDownlinkMbps!,
      ),
    );
    assert.deepEqual(
      cluster.devices.map((d) => d.name),
      ['alpha', 'beta'],
      'device names from the workers',
    );
    for (const w of probed) {
      for (const key of ['roundTripMs', 'latencyMs', 'downlinkMbps', 'uplinkMbps', 'gflops'] as const)
        assert.ok(Number.isFinite(w[key]) && w[key] > 0, `${w.name} ${key} = ${w[key]}`);
      assert.equal(w.latencyMs, w.roundTripMs / 2, 'one hop is half the round trip');
    }
    assert.equal(cluster.devices[1]!.memoryMB, 512, "a worker's memory limit is its device's memory");
    const yaml = clusterYaml(cluster, probed, medium);
    assert.match(yaml, new RegExp(`# medium ${cluster.medium}: sent to all 2 at once \\d+ Mbit/s together`));
    const reread = parseCluster(yaml, 'probed.yaml');
    assert.deepEqual(reread, cluster, 'the YAML reads back as the same cluster');
    // The probed workers still serve a plan afterwards.
    const report = await runPlan(smallCnn(), smallCnnRowPlan(), {
      workers: [a.address, b.address],
      runs: 1,
      warmup: 0,
      timeoutMs: 20_000,
      secret,
    });
    assert.ok(report.maxAbsError <= 1e-4, `output differs by ${report.maxAbsError}`);
  });

  it('--medium given: no concurrent transfer, the cluster takes it', async () => {
    const [a, b] = [await worker('delta'), await worker('epsilon')];
    const { medium, cluster } = await probeWorkers([a.address, b.address], { ...quick, medium: 'shared' });
    assert.deepEqual(medium, { medium: 'shared', source: 'given' });
    assert.equal(cluster.medium, 'shared');
  });

  it('a wrong secret is refused at the handshake with a one-line reason', async () => {
    const w = await worker('gamma');
    await assert.rejects(
      probeWorkers([w.address], { ...quick, secret: secretFrom(freshToken(), 'other') }),
      (error: Error) => /refused the connection|did not prove/.test(error.message) && !error.message.includes('\n'),
      'refused',
    );
  });

  it('clusterOf: hand-computed device entries, duplicate names made unique, memory floored to whole MiB', () => {
    const w: ProbedWorker = {
      address: 'h:1',
      name: 'pi',
      roundTripMs: 4,
      latencyMs: 2,
      downlinkMbps: 93.456789,
      uplinkMbps: 41.23456,
      gflops: 9.87654,
      threads: 1,
      memoryBytes: 1.5 * 2 ** 30 + 1000,
    };
    const cluster = clusterOf([w, w]);
    assert.deepEqual(
      cluster.devices[0],
      { name: 'pi', gflops: 9.877, memoryMB: 1536, uplinkMbps: 41.23, downlinkMbps: 93.46, latencyMs: 2 },
      'first',
    );
    assert.equal(cluster.devices[1]!.name, 'pi-2', 'second of the same name');
  });
});

describe('probe numbers, hand-computed', () => {
  it('mediumOf: four 90 Mbit/s links that reach 95 together share a channel; 350 together are switched; the midpoint is 225', () => {
    const alone = [90, 90, 90, 90];
    assert.equal(mediumOf(alone, 95), 'shared');
    assert.equal(mediumOf(alone, 350), 'switched');
    assert.equal(mediumOf(alone, 224.9), 'shared');
    assert.equal(mediumOf(alone, 225), 'switched');
    assert.equal(mediumOf([100, 10], 60), 'shared', 'uneven links: midpoint of 100 and 110');
  });

  it('transferMbps: 4 MiB in 400 ms after a 20 ms round trip is 33,554,432 bits / 380 ms = 88.30 Mbit/s', () => {
    assert.equal(transferMbps(4 * 2 ** 20, 400, 20), (4 * 2 ** 20 * 8) / (380 * 1000), 'rate');
    assert.equal(transferMbps(1000, 5, 5), 8000 / 1, 'no time left after the round trip: 1 µs');
  });

  it('the compute benchmark is 0.836 GFLOPs under the cost model: conv 2·64·64·9·56² + bias, ReLU, MatMul 2·128·768·3072', () => {
    const flops = benchmarkModel().ops.reduce((sum, op) => sum + op.cost.flops, 0);
    assert.equal(flops, 2 * 64 * 64 * 9 * 56 * 56 + 64 * 56 * 56 + 64 * 56 * 56 + 2 * 128 * 768 * 3072, 'FLOPs');
  });
});
