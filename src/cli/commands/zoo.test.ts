import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cli } from '../testing.ts';

const dir = mkdtempSync(join(tmpdir(), 'memorianova-cli-zoo-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('memorianova zoo / export', () => {
  it('zoo --json lists every built-in model with params, published figure, FLOPs and source', () => {
    const run = cli('zoo', '--json');
    assert.equal(run.status, 0, run.stderr);
    const { models } = JSON.parse(run.stdout) as {
      models: { name: string; params: number; publishedParams: number; flops: number; source: string; inputs: Record<string, number[]> }[];
    };
    assert.equal(models.length, 11);
    const resnet = models.find((m) => m.name === 'resnet50')!;
    assert.equal(resnet.params, 25_557_032);
    assert.equal(resnet.publishedParams, 25_557_032);
    assert.deepEqual(resnet.inputs, { input: [1, 3, 224, 224] });
    assert.ok(resnet.flops > 8e9 && resnet.flops < 8.4e9);
    assert.match(resnet.source, /torchvision/);
  });

  it('zoo prints a table with one line per model', () => {
    const run = cli('zoo');
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^qwen2-0\.5b\s+Qwen2-0\.5B\s+1×128 tokens\s+494\.05 M\s+494\.03 M\s+128\.03/m);
  });

  it('export writes a loadable file and reports it', () => {
    const path = join(dir, 'squeezenet.onnx');
    const run = cli('export', 'squeezenet1.0', '-o', path, '--batch', '2', '--json');
    assert.equal(run.status, 0, run.stderr);
    const result = JSON.parse(run.stdout) as { path: string; bytes: number; params: number };
    assert.deepEqual(result, { model: 'squeezenet1.0', path, bytes: statSync(path).size, params: 1_248_424 });
    const text = cli('export', 'gpt2', '-o', join(dir, 'gpt2.onnx'), '--layers', '1', '--seq-len', '4', '--external-data');
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /^wrote gpt2 to .*gpt2\.onnx \(0\.0 MiB\) \+ .*gpt2\.onnx\.data \(177\.3 MiB\), 46,473,222 parameters\n$/);
  });

  it('export fails with one line for an unknown model or an option that does not apply', () => {
    const unknown = cli('export', 'alexnet', '-o', join(dir, 'x.onnx'));
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /^error: unknown model 'alexnet'; built-in models: vgg13, resnet50, .*, yolov2\n$/);
    const cnn = cli('export', 'resnet50', '-o', join(dir, 'x.onnx'), '--layers', '2');
    assert.equal(cnn.status, 1);
    assert.equal(cnn.stderr, "error: model 'resnet50' is a CNN: a layer count does not apply\n");
    const bad = cli('export', 'gpt2', '-o', join(dir, 'x.onnx'), '--seq-len', 'x');
    assert.equal(bad.stderr, "error: --seq-len must be a positive integer, got 'x'\n");
    const folder = cli('export', 'squeezenet1.0', '-o', join(dir, 'missing', 'x.onnx'));
    assert.equal(folder.status, 1);
    assert.equal(
      folder.stderr,
      `error: cannot write '${join(dir, 'missing', 'x.onnx')}': folder '${join(dir, 'missing')}' does not exist\n`,
    );
    const taken = cli('export', 'squeezenet1.0', '-o', dir);
    assert.equal(taken.status, 1);
    assert.equal(taken.stderr, `error: cannot write '${dir}': it is a folder\n`);
  });
});
