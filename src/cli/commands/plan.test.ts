import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { GraphBuilder } from '../../ir/builder.ts';
import { writeModelBytes } from '../../onnx/write.ts';

const bin = fileURLToPath(new URL('../../../bin/memorianova.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'memorianova-plan-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function convStack(): string {
  const b = new GraphBuilder('convstack');
  let x = b.input('image', 'float32', [1, 3, 64, 64]);
  for (const [i, channels] of [16, 32, 32].entries()) {
    const inChannels = i === 0 ? 3 : [16, 32, 32][i - 1]!;
    x = b.op('Conv', [x, b.weight(`w${i}`, [channels, inChannels, 3, 3])], { pads: [1, 1, 1, 1] }, `conv${i}`);
    x = b.op('Relu', [x], {}, `relu${i}`);
  }
  b.output(x);
  const path = join(dir, 'convstack.onnx');
  writeFileSync(path, writeModelBytes(b.build()));
  return path;
}

test('plan --json reports every method, the bound and the best, and writes plan.json and report.html', () => {
  const out = join(dir, 'out');
  const result = spawnSync(
    process.execPath,
    [bin, 'plan', convStack(), '--cluster', 'homo2', '--time-limit', '2', '--patience', '5', '--out', out, '--json'],
    { encoding: 'utf8', timeout: 120_000 },
  );
  assert.equal(result.status, 0, result.stderr);
  const json = JSON.parse(result.stdout);
  assert.ok(json.lowerBoundMs > 0);
  const names = json.methods.map((m: { name: string }) => m.name);
  assert.ok(names.includes('geneflow'));
  assert.ok(names.includes(json.best));
  for (const m of json.methods) {
    assert.equal(typeof m.latencyMs, 'number');
    assert.ok(m.latencyMs >= json.lowerBoundMs - 1e-9, `${m.name} is not below the lower bound`);
    assert.equal(typeof m.feasible, 'boolean');
    assert.equal(m.devicePeakBytes.length, 2);
    assert.equal(typeof m.searchMs, 'number');
  }
  const single = json.methods.find((m: { name: string }) => m.name === 'single');
  assert.ok(json.idealMs > 0 && json.idealMs < single.latencyMs, 'on two equal devices the ideal split beats one device');
  assert.ok(json.channelBusyShare > 0 && json.channelBusyShare <= 1, 'the busiest channel carries the input at least');
  assert.ok(
    json.decision.some((s: string) => s.startsWith('A freely divisible split')),
    'the decision names the ideal split',
  );
  const geneflow = json.methods.find((m: { name: string }) => m.name === 'geneflow');
  const baselines = json.methods.filter((m: { name: string; feasible: boolean }) => m.name !== 'geneflow' && m.feasible);
  assert.ok(
    geneflow.latencyMs <= Math.min(...baselines.map((m: { latencyMs: number }) => m.latencyMs)) + 1e-9,
    'GenEFlow is never worse than a baseline it was seeded with',
  );
  const plan = JSON.parse(readFileSync(join(out, 'plan.json'), 'utf8'));
  assert.equal(plan.format, 'memorianova-plan');
  assert.equal(plan.method, json.best);
  assert.match(readFileSync(join(out, 'report.html'), 'utf8'), /<svg/);
  assert.ok(existsSync(join(out, 'plans', 'geneflow.json')));
});

test('plan with an unknown cluster preset is a one-line error', () => {
  const result = spawnSync(process.execPath, [bin, 'plan', 'resnet50', '--cluster', 'homo5'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(result.status, 1);
  assert.match(result.stderr, /^error: .*homo5/);
  assert.equal(result.stderr.trimEnd().split('\n').length, 1);
});

test('plan with memory limits no plan fits: exit status 2, and per device what the best plan needs next to the limit', () => {
  const cluster = join(dir, 'small.yaml');
  writeFileSync(
    cluster,
    [
      'name: small',
      'devices:',
      '  - { name: pi, gflops: 10, memoryMB: 0.5, uplinkMbps: 100, downlinkMbps: 100, latencyMs: 1 }',
      '  - { name: pi2, gflops: 5, memoryMB: 0.25, uplinkMbps: 100, downlinkMbps: 100, latencyMs: 1 }',
      '',
    ].join('\n'),
  );
  const model = convStack();
  const args = [bin, 'plan', model, '--cluster', cluster, '--methods', 'single', '--time-limit', '2', '--out', join(dir, 'nofit')];
  const json = spawnSync(process.execPath, [...args, '--json'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(json.status, 2, json.stderr);
  const parsed = JSON.parse(json.stdout);
  assert.equal(parsed.feasible, false);
  // The whole model on pi (the faster device): weights 4·(16·3·9 + 32·16·9 + 32·32·9) = 57,024 B plus the
  // activation peak while conv2 runs, its input and output of 32·64·64·4 B each = 1,048,576 B.
  assert.deepEqual(parsed.memory, [
    { device: 'pi', limitBytes: 524_288, peakBytes: 1_105_600, overBytes: 1_105_600 - 524_288 },
    { device: 'pi2', limitBytes: 262_144, peakBytes: 0, overBytes: 0 },
  ]);
  assert.equal(
    json.stderr.trim().split('\n').at(-1),
    "error: no plan fits every device's memory: pi needs 1.1 MiB of 0.5 MiB (best plan: single; exit status 2)",
  );
  const text = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 60_000 });
  assert.equal(text.status, 2, text.stderr);
  assert.match(text.stdout, /no method found a plan within every device's memory; the best plan \(single\) needs:\n/);
  assert.match(text.stdout, /\npi +1\.1 +0\.5 +0\.6\npi2 +0\.0 +0\.3 +-\n?$/);
  assert.ok(existsSync(join(dir, 'nofit', 'plan.json')), 'the best plan is still written');
});
