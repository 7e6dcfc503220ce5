import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cli } from '../testing.ts';

const dir = mkdtempSync(join(tmpdir(), 'memorianova-cli-simulate-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('memorianova simulate', () => {
  it('--plan proportional --json: the documented fields, one peak per device; --plot writes the Gantt chart', () => {
    const run = cli(
      'simulate',
      'squeezenet1.0',
      '--cluster',
      'hetero4',
      '--plan',
      'proportional',
      '--order-time-limit',
      '2',
      '--json',
      '--plot',
      dir,
    );
    assert.equal(run.status, 0, run.stderr);
    const json = JSON.parse(run.stdout);
    assert.equal(json.method, 'proportional');
    assert.ok(json.latencyMs > json.lowerBoundMs && json.lowerBoundMs > 0);
    assert.equal(json.feasible, true);
    assert.equal(json.devicePeakBytes.length, 4);
    assert.deepEqual(json.violations, []);
    assert.equal(json.timeline, undefined);
    assert.ok(statSync(join(dir, 'gantt.svg')).size > 1000);
    assert.ok(statSync(join(dir, 'gantt.png')).size > 1000);
    assert.equal(run.stderr.trimEnd().split('\n').at(-1), `wrote ${join(dir, 'gantt.svg')}, ${join(dir, 'gantt.png')}`, 'files named');
    const text = cli(
      'simulate',
      'squeezenet1.0',
      '--cluster',
      'hetero4',
      '--plan',
      'proportional',
      '--order-time-limit',
      '2',
      '--plot',
      dir,
    );
    assert.equal(text.status, 0, text.stderr);
    assert.ok(text.stdout.endsWith(`\nwrote ${join(dir, 'gantt.svg')}, ${join(dir, 'gantt.png')}\n`), 'files named after the table');
  });

  it('prints the breakdown table; bad clusters and plans are one-line errors', () => {
    const run = cli('simulate', 'squeezenet1.0', '--cluster', 'homo2', '--plan', 'single', '--order-time-limit', '1');
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^squeezenet1\.0 on homo2 \(2 devices\), plan 'single': latency [\d.]+ ms, lower bound [\d.]+ ms/);
    assert.match(run.stdout, /\npi1 +[\d.]+ +/);

    const cluster = join(dir, 'bad.yaml');
    writeFileSync(
      cluster,
      'name: bad\ndevices:\n  - name: a\n    gflops: 1\n    memoryMB: 1\n    uplinkMbps: -3\n    downlinkMbps: 1\n    latencyMs: 1\n',
    );
    const bad = cli('simulate', 'squeezenet1.0', '--cluster', cluster, '--plan', 'single');
    assert.equal(bad.status, 1);
    assert.equal(bad.stderr, `error: cluster file ${cluster}: devices[0].uplinkMbps: must be >= 0.001\n`);

    const plan = join(dir, 'plan.json');
    writeFileSync(plan, '{"format": "memorianova-plan"}');
    const wrong = cli('simulate', 'squeezenet1.0', '--plan', plan);
    assert.equal(wrong.status, 1);
    assert.equal(wrong.stderr, `error: plan file ${plan}: version: must be 1 (this build reads plan version 1)\n`);
  });
});

describe('memorianova simulate --host-profile', () => {
  it('simulates the cluster as this host emulates it: the library’s calibratedCluster, hand-made profile', async () => {
    const { loadModel } = await import('../../model/load.ts');
    const { readPlan } = await import('../../plan/io.ts');
    const { modelFingerprint } = await import('../../model/fingerprint.ts');
    const { calibratedCluster } = await import('../../runtime/emulate.ts');
    const { simulate } = await import('../../simulate/simulate.ts');
    const { smallCnnWithPlan } = await import('../testing.ts');
    const { model, modelPath, planPath } = smallCnnWithPlan(dir);
    // Every operator 2 ms on the host: a profile as `memorianova profile` writes it.
    const profile = {
      format: 'memorianova-profile',
      version: 1,
      model: { name: model.name, fingerprint: modelFingerprint(model) },
      ops: Object.fromEntries(model.ops.map((op) => [op.node.name, 2])),
    };
    const profilePath = join(dir, 'host.json');
    writeFileSync(profilePath, JSON.stringify(profile));
    const plain = cli('simulate', modelPath, '--plan', planPath, '--json');
    const calibrated = cli('simulate', modelPath, '--plan', planPath, '--host-profile', profilePath, '--json');
    assert.equal(calibrated.status, 0, calibrated.stderr);
    const plan = readPlan(planPath, loadModel(modelPath));
    const expected = simulate(model, calibratedCluster(model, plan.cluster, profile as never), plan);
    assert.equal(JSON.parse(calibrated.stdout).latencyMs, expected.latencyMs, 'latency of the calibrated cluster');
    assert.notEqual(JSON.parse(plain.stdout).latencyMs, expected.latencyMs, 'the profile changes the prediction');
    const other = cli('simulate', 'squeezenet1.0', '--cluster', 'homo2', '--plan', 'single', '--host-profile', profilePath);
    assert.equal(other.status, 1, 'a profile of another model is refused');
    assert.match(other.stderr, /^error: .*not on 'squeezenet1.0'.*\n$/, other.stderr);
  });
});
