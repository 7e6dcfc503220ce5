import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { threeConvs } from '../../fit/testing.ts';
import { writeModelFile } from '../../onnx/write.ts';
import { cli, copyFreeDevice, scratchDir, smallCnnWithPlan } from '../testing.ts';

const dir = scratchDir('memorianova-cli-run-');
const { model, modelPath, planPath } = smallCnnWithPlan(dir);

describe('memorianova run, profile, worker', () => {
  it('run --local --json: one object with the measured, predicted and per-worker fields; the chart files', () => {
    const chart = join(dir, 'run');
    const run = cli(
      'run',
      modelPath,
      '--plan',
      planPath,
      '--local',
      '2',
      '--runs',
      '2',
      '--warmup',
      '0',
      '--emulate-links',
      '--json',
      '--chart',
      chart,
    );
    assert.equal(run.status, 0, run.stderr);
    const json = JSON.parse(run.stdout);
    assert.equal(json.method, 'proportional');
    assert.ok(json.measuredMs > 0 && json.predictedMs > 0);
    assert.ok(Math.abs(json.errorPercent - ((json.measuredMs - json.predictedMs) / json.predictedMs) * 100) < 1e-9);
    assert.ok(json.maxAbsError <= 1e-4);
    assert.equal(json.runsMs.length, 2);
    assert.ok(json.hostGflops > 0);
    assert.equal(json.hostProfileGflops, null, 'no --host-profile');
    assert.deepEqual(
      json.workers.map((w: { name: string }) => w.name),
      ['pi1', 'pi2'],
    );
    for (const w of json.workers)
      for (const key of ['computeMs', 'waitMs', 'sendMs', 'peakBytes', 'tensorPeakBytes']) assert.ok(w[key] >= 0, key);
    assert.ok(existsSync(`${chart}.svg`) && existsSync(`${chart}.png`));
    assert.equal(run.stderr.trimEnd().split('\n').at(-1), `wrote ${chart}.svg, ${chart}.png`, 'chart files named on stderr with --json');
    assert.match(run.stderr, /^\[\d+\.\d s\] runs: 2 done$/m, 'progress off a terminal: a plain line');
  });

  it('run without emulation: the text report hints at what makes the prediction comparable', () => {
    const run = cli('run', modelPath, '--plan', planPath, '--local', '2', '--runs', '1', '--warmup', '0');
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /\nhint: .*add --emulate --emulate-links \(and --host-profile FILE/);
  });

  it('profile -o writes a device profile with every operator', () => {
    const out = join(dir, 'profile.json');
    const run = cli('profile', modelPath, '-o', out, '--runs', '1', '--json');
    assert.equal(run.status, 0, run.stderr);
    const profile = JSON.parse(readFileSync(out, 'utf8'));
    assert.equal(profile.format, 'memorianova-profile');
    assert.deepEqual(Object.keys(profile.ops).sort(), model.ops.map((op) => op.node.name).sort());
    assert.ok(profile.opTypes.Conv > 0);
    // The fitted execution overheads, and in --json the calibration steps they were fitted to.
    assert.ok(profile.overheads.stepMs >= 0 && profile.overheads.msPerMiB >= 0);
    for (const [dim, penalty] of Object.entries(profile.overheads.splitPenalty))
      assert.ok(['rows', 'channels', 'tokens', 'heads'].includes(dim) && (penalty as number) >= 0);
    const printed = JSON.parse(run.stdout);
    assert.ok(printed.overheads.steps.length >= 4 && printed.overheads.rmsMs >= 0);
  });

  it('usage errors are one line and exit 1', () => {
    for (const [args, pattern] of [
      [['run', modelPath, '--plan', planPath], /^error: give exactly one of --workers host:port,\.\.\. and --local N$/],
      [['run', modelPath, '--plan', planPath, '--local', '3'], /^error: --local 3: the plan has 2 devices$/],
      [['run', modelPath, '--plan', planPath, '--workers', 'a:1'], /^error: --workers lists 1 workers, the plan has 2 devices$/],
      [
        ['run', modelPath, '--plan', planPath, '--workers', '127.0.0.1:99999,127.0.0.1:1'],
        /^error: --workers: each worker must be HOST:PORT with a port from 1 to 65535, got '127\.0\.0\.1:99999'$/,
      ],
      [
        ['run', modelPath, '--plan', planPath, '--workers', ','],
        /^error: --workers: each worker must be HOST:PORT with a port from 1 to 65535, got ''$/,
      ],
      [['worker', '--listen', 'nowhere'], /^error: --listen must be HOST:PORT with a port from 0 to 65535, got 'nowhere'$/],
      [['worker', '--listen', '127.0.0.1:0', '--emulate', 'pi1'], /^error: --emulate needs --cluster and --host-gflops$/],
    ] as Array<[string[], RegExp]>) {
      const run = cli(...args);
      assert.equal(run.status, 1, args.join(' '));
      assert.match(run.stderr.trim(), pattern);
    }
  });

  it('run --plan fit.json --local 1: the fit plan on one worker, output and peak checked; another model or --local 2 is one line', () => {
    const out = join(dir, 'fit');
    const fit = cli('fit', modelPath, '--memory', '8KiB', '--max-grid', '3', '--max-depth', '4', '--out', out);
    assert.equal(fit.status, 0, fit.stderr);
    const plan = join(out, 'fit.json');
    const run = cli('run', modelPath, '--plan', plan, '--local', '1', '--runs', '1', '--warmup', '0', '--json');
    assert.equal(run.status, 0, run.stderr);
    const json = JSON.parse(run.stdout);
    assert.ok(json.maxAbsError <= 1e-4, `max abs error ${json.maxAbsError}`);
    assert.equal(json.limitBytes, 8192, '8KiB');
    assert.ok(json.measuredPeakBytes <= json.limitBytes, `measured ${json.measuredPeakBytes} B within the limit`);
    assert.equal(json.measuredPeakBytes, json.predictedPeakBytes, 'the memory model is exact on this plan');
    assert.ok(json.tiles > 0 && json.measuredMs > 0 && json.predictedMs > 0, 'tiles ran; latencies');
    const other = join(dir, 'three-convs.onnx');
    writeModelFile(threeConvs().graph, other);
    for (const [args, pattern] of [
      [
        [other, '--plan', plan, '--local', '1'],
        /^error: fit plan .*fit\.json was made for model 'small-cnn' \(fingerprint \w+…\), not for 'three-convs'/,
      ],
      [[modelPath, '--plan', plan, '--local', '2'], /^error: --local 2: a fit plan runs on one worker \(--local 1\)$/],
      [[modelPath, '--plan', plan, '--local', '1', '--emulate'], /^error: --emulate: not for a fit plan/],
    ] as Array<[string[], RegExp]>) {
      const bad = cli('run', ...args);
      assert.equal(bad.status, 1, args.join(' '));
      assert.match(bad.stderr.trim(), pattern);
    }
  });

  it('run --plan fit.json --local 1 with cached halos (fit --halo cache): the whole output at the predicted peak', () => {
    const out = join(dir, 'fit-cache');
    // Small CNN, grids up to 3×3, groups up to 4, copies free (copyFreeDevice): the fastest plan within 8736 B is one
    // 2×2 group caching its halos.
    const fit = cli(
      'fit',
      modelPath,
      '--memory',
      '8736B',
      '--max-grid',
      '3',
      '--max-depth',
      '4',
      '--halo',
      'cache',
      '--device',
      copyFreeDevice(dir),
      '--out',
      out,
    );
    assert.equal(fit.status, 0, fit.stderr);
    assert.match(fit.stdout, /2x2 cached/, 'the group caches');
    const run = cli('run', modelPath, '--plan', join(out, 'fit.json'), '--local', '1', '--runs', '1', '--warmup', '0', '--json');
    assert.equal(run.status, 0, run.stderr);
    const json = JSON.parse(run.stdout);
    assert.ok(json.maxAbsError <= 1e-4, `max abs error ${json.maxAbsError}`);
    assert.equal(json.measuredPeakBytes, json.predictedPeakBytes, 'the memory model is exact on this plan');
    assert.equal(json.predictedPeakBytes, 8736, 'the cached plan peak');
  });

  it('worker --listen on an address this host lacks is a clean error', () => {
    // 192.0.2.0/24 is reserved for documentation (RFC 5737): no host has it, and binding sends nothing.
    const run = spawnSync(process.execPath, ['bin/memorianova.js', 'worker', '--listen', '192.0.2.1:5000'], {
      encoding: 'utf8',
      env: { ...process.env, MEMORIANOVA_TOKEN: '0123456789abcdef0123456789abcdef' },
    });
    assert.equal(run.status, 1, run.stderr);
    assert.equal(run.stderr.trim(), 'error: cannot listen on 192.0.2.1:5000: this host has no such address');
  });
});
