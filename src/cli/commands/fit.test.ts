import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { writeModelFile } from '../../onnx/write.ts';
import { smallCnn } from '../../runtime/testing.ts';
import { cli, copyFreeDevice, scratchDir } from '../testing.ts';

const dir = scratchDir('memorianova-cli-fit-');
const modelPath = join(dir, 'small-cnn.onnx');
writeModelFile(smallCnn().graph, modelPath);
const small = ['--max-grid', '3', '--max-depth', '4'];

describe('memorianova fit', () => {
  it('--json: limit, peak within it, baseline, groups; --sweep --out writes fit.json and front.svg', () => {
    const run = cli('fit', modelPath, '--memory', '9000B', ...small, '--json', '--sweep', '--out', dir);
    assert.equal(run.status, 0, run.stderr);
    const json = JSON.parse(run.stdout) as Record<string, unknown> & { groups: unknown[]; front: unknown[] };
    assert.equal(json.limitBytes, 9000, 'limit');
    assert.equal(json.feasible, true, 'feasible');
    assert.ok((json.peakBytes as number) <= 9000, 'peak within the limit');
    assert.ok((json.baselinePeakBytes as number) > 9000, 'the untiled order does not fit');
    assert.ok(json.groups.length > 0, 'some group is tiled');
    assert.ok(typeof json.latencyMs === 'number' && typeof json.overheadFlops === 'number', 'latency and halo FLOPs');
    assert.ok(json.front.length >= 2, 'a front');
    assert.ok(existsSync(join(dir, 'front.svg')), 'front.svg');
    const plan = JSON.parse(readFileSync(join(dir, 'fit.json'), 'utf8')) as { format: string; groups: unknown[] };
    assert.equal(plan.format, 'memorianova-fit', 'plan file');
  });

  it('a limit below every execution: one line naming the least memory, exit 2', () => {
    const run = cli('fit', modelPath, '--memory', '1KiB', ...small);
    assert.equal(run.status, 2, run.stderr);
    assert.match(run.stderr, /^error: small-cnn does not fit in 1\.00 KiB: the least memory any execution in the space needs is .*\n$/);
  });

  it('--halo cache: --json and the plan file state the mode and every cached group; the front holds cached groups', () => {
    const out = join(dir, 'halo');
    // Copies free (copyFreeDevice): the small CNN's cached groups stay on the front.
    const run = cli(
      'fit',
      modelPath,
      '--memory',
      '1B',
      ...small,
      '--halo',
      'cache',
      '--device',
      copyFreeDevice(dir),
      '--json',
      '--sweep',
      '--out',
      out,
    );
    assert.equal(run.status, 2, run.stderr);
    const json = JSON.parse(run.stdout) as { halo: string; front: Array<{ groups: Array<{ halo: string }> }> };
    assert.equal(json.halo, 'cache', 'the mode searched');
    assert.ok(
      json.front.some((e) => e.groups.some((g) => g.halo === 'cache')),
      'some front point caches halos',
    );
    const plan = JSON.parse(readFileSync(join(out, 'fit.json'), 'utf8')) as { halo?: string };
    assert.equal(plan.halo, 'cache', 'the plan file says so');
    const plain = JSON.parse(cli('fit', modelPath, '--memory', '1B', ...small, '--json').stdout) as {
      halo: string;
      groups: Array<{ halo: string }>;
    };
    assert.equal(plain.halo, 'recompute', 'default');
    assert.ok(
      plain.groups.every((g) => g.halo === 'recompute'),
      'every group recomputes by default',
    );
  });

  it('bad sizes and devices: one-line errors, exit 1', () => {
    for (const args of [
      ['--memory', '1MiB', '--halo', 'stash'],
      ['--memory', '12XB'],
      ['--memory', '1MiB', '--device', 'toaster'],
    ]) {
      const run = cli('fit', modelPath, ...args);
      assert.equal(run.status, 1, run.stderr);
      assert.match(run.stderr, /^error: [^\n]*\n$/, run.stderr);
    }
  });

  it('a transformer: token chunk groups in --json (kind, chunks, order) and in the plan file; --max-chunks bounds them', () => {
    const run = cli('fit', 'bert-base', '--seq-len', '8', '--layers', '1', '--memory', '1B', '--max-chunks', '3', '--json', '--out', dir);
    assert.equal(run.status, 2, run.stderr);
    const json = JSON.parse(run.stdout) as {
      order: string;
      leastPeakBytes: number;
      baselinePeakBytes: number;
      space: { maxChunks: number; orders: string[] };
      groups: Array<{ kind: string; chunks: number; grid: string; cols: number }>;
    };
    assert.ok(json.leastPeakBytes < json.baselinePeakBytes, 'chunks go below the untiled peak');
    assert.deepEqual(json.space.orders, ['btsearch', 'kv-first'], 'both orders');
    assert.equal(json.space.maxChunks, 3, '--max-chunks');
    assert.ok(['btsearch', 'kv-first'].includes(json.order), 'the order of the execution');
    assert.ok(json.groups.length > 0, 'some chunk group');
    for (const g of json.groups) {
      assert.equal(g.kind, 'tokens', 'token chunks only');
      assert.ok(g.chunks >= 2 && g.chunks <= 3, `chunks ${g.chunks}`);
      assert.equal(g.grid, `${g.chunks} chunks`, 'grid');
      assert.equal(g.cols, 1, 'cols');
    }
    const plan = JSON.parse(readFileSync(join(dir, 'fit.json'), 'utf8')) as { groups: Array<{ kind: string; chunks: number }> };
    assert.deepEqual(
      plan.groups.map((g) => [g.kind, g.chunks]),
      json.groups.map((g) => ['tokens', g.chunks]),
      'the plan file states each group as kind tokens with its chunks',
    );
  });
});
