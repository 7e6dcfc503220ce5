import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { validateCluster } from '../cluster/load.ts';
import { EXECUTION_PROVIDERS, type Cluster, type ExecutionProvider } from '../cluster/types.ts';
import type { Plan } from '../plan/types.ts';
import { loadDeviceBundle } from './bundle.ts';
import { writeBundle } from './deploy.ts';
import { readDeviceBundle } from './manifest.ts';
import { profileModel } from './profile.ts';
import { runPlan } from './run.ts';
import { checkTarget, parseTarget, runMs, sessionOptions, targetOf } from './targets.ts';
import { smallCnn, smallCnnRowPlan } from './testing.ts';

const dir = mkdtempSync(join(tmpdir(), 'memorianova-targets-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const model = smallCnn();
const base = smallCnnRowPlan(model);
const withTarget = (plan: Plan, executionProviders: ExecutionProvider[], threads: number): Plan => ({
  ...plan,
  cluster: { ...plan.cluster, devices: plan.cluster.devices.map((d) => ({ ...d, executionProviders, threads })) } as Cluster,
});
/** A provider this platform's onnxruntime-node lacks (linux/x64 has no CoreML, DirectML or XNNPACK build). */
const missing = EXECUTION_PROVIDERS.find((p) => !ort.listSupportedBackends().some((b) => b.name === p));

describe('targets: execution providers and threads', () => {
  it('a device without a target runs on the CPU provider with one thread; the session options carry both', () => {
    assert.deepEqual(targetOf({}), { executionProviders: ['cpu'], threads: 1 });
    const options = sessionOptions(targetOf({ executionProviders: ['cpu'], threads: 3 }));
    assert.deepEqual(options.executionProviders, ['cpu']);
    assert.equal(options.intraOpNumThreads, 3);
    assert.equal(options.executionMode, 'sequential');
    assert.equal(runMs({ cpuMs: 8, wallMs: 5 }, { executionProviders: ['cpu'], threads: 1 }), 8, 'one thread: CPU time');
    assert.equal(runMs({ cpuMs: 8, wallMs: 5 }, { executionProviders: ['cpu'], threads: 2 }), 5, 'more threads: wall time');
  });

  it('a cluster file names providers and threads; an unknown provider or zero threads is one error line', () => {
    const device = { name: 'd', gflops: 1, memoryMB: 1, uplinkMbps: 1, downlinkMbps: 1, latencyMs: 0 };
    const ok = validateCluster({ name: 'c', devices: [{ ...device, executionProviders: ['cpu'], threads: 2 }] }, 'cluster');
    assert.deepEqual(targetOf(ok.devices[0]!), { executionProviders: ['cpu'], threads: 2 });
    assert.throws(
      () => validateCluster({ name: 'c', devices: [{ ...device, executionProviders: ['tpu'] }] }, 'cluster'),
      /^MemoriaNovaError: cluster: devices\[0\]\.executionProviders\[0\]: must be one of cpu, cuda/,
    );
    assert.throws(
      () => validateCluster({ name: 'c', devices: [{ ...device, threads: 0 }] }, 'cluster'),
      /devices\[0\]\.threads: must be >= 1/,
    );
    assert.throws(
      () => parseTarget('cpu,tpu', 1, '--execution-providers'),
      /^MemoriaNovaError: --execution-providers: unknown execution provider 'tpu'/,
    );
  });

  it('an execution provider this platform lacks: checkTarget, a shipped worker and a bundle worker each say so in one line', async (t) => {
    if (missing === undefined) return t.skip('every provider is available here');
    await assert.rejects(checkTarget({ executionProviders: ['cpu', missing], threads: 1 }, 'here'), (e: Error) => {
      assert.match(
        e.message,
        new RegExp(`^here: execution provider '${missing}' is not available in onnxruntime-node on ${process.platform}/`),
      );
      assert.ok(!e.message.includes('\n'), 'one line');
      return true;
    });
    const plan = withTarget(base, [missing], 1);
    await assert.rejects(runPlan(model, plan, { local: 2, runs: 1, warmup: 0, timeoutMs: 30_000 }), (e: Error) => {
      assert.match(
        e.message,
        new RegExp(`failed during step 'setup': local\\d: its sessions: execution provider '${missing}' is not available`),
      );
      assert.ok(!e.message.includes('\n'), 'one line');
      return true;
    });
    const out = join(dir, 'missing');
    writeBundle(model, plan, out, { externalDataAboveBytes: 2048 });
    assert.deepEqual(readDeviceBundle(join(out, 'pi1')).device.executionProviders, [missing]);
    await assert.rejects(
      loadDeviceBundle(join(out, 'pi1')),
      new RegExp(`^MemoriaNovaError: bundle '.*pi1' \\(device 'pi1'\\): execution provider '${missing}'`),
    );
  });

  it('two threads on the CPU provider: the plan runs shipped and from its bundle, and profile records what it measured', async () => {
    const plan = withTarget(base, ['cpu'], 2);
    const shipped = await runPlan(model, plan, { local: 2, runs: 1, warmup: 0, timeoutMs: 30_000 });
    assert.ok(shipped.maxAbsError <= 1e-4, `max abs error ${shipped.maxAbsError}`);
    const bundle = await loadDeviceBundle(join(writeBundle(model, plan, join(dir, 'two'), { externalDataAboveBytes: 2048 }).dir, 'pi1'));
    assert.equal(bundle.manifest.device.threads, 2);
    for (const s of bundle.steps) await s.session.release();
    const { profile } = await profileModel(model, { runs: 1, overheads: false, target: { executionProviders: ['cpu'], threads: 2 } });
    assert.deepEqual(profile.executionProviders, ['cpu']);
    assert.equal(profile.threads, 2);
    assert.match(profile.measuredOn ?? '', /cpu, 2 threads$/);
  });
});
