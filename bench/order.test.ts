import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const corpus = new URL('../src/onnx/testdata/corpus/', import.meta.url).pathname;
const script = new URL('./order.ts', import.meta.url).pathname;

function order(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', script, ...args], { encoding: 'utf8' });
}

test('bench:order --files: a file the bindings do not fit is one table line, the next file is still ordered', () => {
  const dir = mkdtempSync(join(tmpdir(), 'order-'));
  try {
    // The corpus GPT-2 has 64 positions: seq=128 gathers past its position table.
    copyFileSync(join(corpus, 'gpt2-dynamic-opset14.onnx'), join(dir, 'gpt2-dynamic-opset14.onnx'));
    copyFileSync(join(corpus, 'resnet-static-opset14.onnx'), join(dir, 'resnet-static-opset14.onnx'));
    const run = order(['--files', dir, '--dim', 'batch=1', '--dim', 'seq=128', '--time-limit', '5']);
    assert.equal(run.status, 0, run.stderr);
    const lines = run.stdout.trimEnd().split('\n');
    assert.match(lines[3]!, /^gpt2-dynamic-opset14 {3}failed: Gather node '\/wpe\/Gather': index 64 is out of range for size 64$/);
    assert.match(lines[4]!, /^resnet-static-opset14 +18 +13 +yes /);
    assert.equal(lines.length, 5);
    assert.doesNotMatch(run.stderr, /\n\s+at /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bench:order: a missing folder or a bad --dim is a one-line error and exit 1', () => {
  const missing = order(['--files', join(tmpdir(), 'no-such-folder-order')]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /^error: --files: cannot read folder '.*no-such-folder-order': ENOENT[^\n]*\n$/);
  const dim = order(['--files', corpus, '--dim', 'seq']);
  assert.equal(dim.status, 1);
  assert.equal(dim.stderr, "error: --dim 'seq' must look like name=N (e.g. batch=1)\n");
});
