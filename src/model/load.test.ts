import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { isModelFile } from './load.ts';

it('a folder named like a built-in model does not hide it; a file of that name, a path or an .onnx name is a file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'memorianova-load-'));
  const cwd = process.cwd();
  after(() => {
    process.chdir(cwd);
    rmSync(dir, { recursive: true, force: true });
  });
  process.chdir(dir);
  mkdirSync('resnet50');
  writeFileSync('vgg13', 'not a model');
  assert.equal(isModelFile('resnet50'), false, 'the folder resnet50/ (say, a deploy bundle) leaves the zoo model');
  assert.equal(isModelFile('vgg13'), true, 'a file named vgg13 is read as a file');
  assert.equal(isModelFile('squeezenet1.0'), false);
  assert.equal(isModelFile('./resnet50'), true);
  assert.equal(isModelFile('model.onnx'), true);
});
