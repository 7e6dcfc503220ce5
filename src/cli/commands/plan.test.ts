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
