import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cli } from '../testing.ts';

const dir = mkdtempSync(join(tmpdir(), 'memorianova-cli-order-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface OrderJson {
  peakBytes: number;
  optimal: boolean;
  lowerBoundBytes: number;
  timeMs: number;
  order: string[];
  baselines: { method: string; peakBytes: number }[];
  arenaBytes: number;
  weightBytes: number;
  operators: number;
  fingerprint: string;
}

describe('memorianova order', () => {
  let zooResult: OrderJson;

  it('--json: proven optimum, baselines, arena; --out and --plot write their files', () => {
    const out = join(dir, 'order.json');
    const run = cli('order', 'squeezenet1.0', '--json', '--random-samples', '10', '--out', out, '--plot', dir);
    assert.equal(run.status, 0, run.stderr);
    zooResult = JSON.parse(run.stdout) as OrderJson;
    assert.equal(zooResult.optimal, true);
    assert.equal(zooResult.lowerBoundBytes, zooResult.peakBytes);
    assert.equal(zooResult.order.length, zooResult.operators);
    assert.deepEqual(
      zooResult.baselines.map((b) => b.method),
      ['file', 'random-mean', 'random-best', 'random-worst', 'dfs', 'greedy'],
    );
    for (const b of zooResult.baselines) assert.ok(b.peakBytes >= zooResult.peakBytes, b.method);
    assert.ok(zooResult.arenaBytes >= zooResult.peakBytes);
    const saved = JSON.parse(readFileSync(out, 'utf8')) as { model: string; fingerprint: string; order: string[]; peakBytes: number };
    assert.equal(saved.model, 'squeezenet1.0');
    assert.deepEqual(saved.order, zooResult.order);
    assert.equal(saved.fingerprint, zooResult.fingerprint);
    assert.ok(statSync(join(dir, 'order-memory.svg')).size > 1000);
    assert.ok(statSync(join(dir, 'order-memory.png')).size > 1000);
    assert.equal(
      run.stderr.trimEnd().split('\n').at(-1),
      `wrote ${join(dir, 'order-memory.svg')}, ${join(dir, 'order-memory.png')}`,
      'with --json the written files are named on stderr',
    );
  });

  it('--include-weights adds the weight bytes to every peak; the table has one row per method', () => {
    const run = cli('order', 'squeezenet1.0', '--json', '--random-samples', '10', '--include-weights');
    assert.equal(run.status, 0, run.stderr);
    const withWeights = JSON.parse(run.stdout) as OrderJson;
    assert.equal(withWeights.peakBytes, zooResult.peakBytes + withWeights.weightBytes);
    assert.equal(withWeights.baselines[0]!.peakBytes, zooResult.baselines[0]!.peakBytes + withWeights.weightBytes);
    const table = cli('order', 'squeezenet1.0', '--random-samples', '10');
    assert.equal(table.status, 0, table.stderr);
    for (const method of ['btsearch', 'file', 'random-mean', 'random-best', 'random-worst', 'dfs', 'greedy'])
      assert.match(table.stdout, new RegExp(`^${method} `, 'm'));
  });

  it('an exported .onnx file orders to the same peak as the built-in model', () => {
    const file = join(dir, 'squeezenet.onnx');
    const exported = cli('export', 'squeezenet1.0', '-o', file);
    assert.equal(exported.status, 0, exported.stderr);
    const run = cli('order', file, '--json', '--random-samples', '10');
    assert.equal(run.status, 0, run.stderr);
    assert.equal((JSON.parse(run.stdout) as OrderJson).peakBytes, zooResult.peakBytes);
  });

  it('bad input: one-line errors, exit 1', () => {
    for (const args of [
      ['order', 'no-such-model'],
      ['order', 'squeezenet1.0', '--time-limit', 'soon'],
      ['order', join(dir, 'missing.onnx')],
    ]) {
      const run = cli(...args);
      assert.equal(run.status, 1, args.join(' '));
      assert.match(run.stderr, /^error: .+\n$/);
      assert.equal(run.stdout, '');
    }
  });
});
