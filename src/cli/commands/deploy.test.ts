import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { presetCluster } from '../../cluster/presets.ts';
import { loadModel } from '../../model/load.ts';
import { writeModelFile } from '../../onnx/write.ts';
import { proportionalPlan } from '../../plan/build.ts';
import { writePlan } from '../../plan/io.ts';
import { smallCnn } from '../../runtime/testing.ts';

const dir = mkdtempSync(join(tmpdir(), 'memorianova-cli-deploy-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]) {
  return spawnSync(process.execPath, ['bin/memorianova.js', ...args], { encoding: 'utf8' });
}

const modelPath = join(dir, 'small-cnn.onnx');
writeModelFile(smallCnn().graph, modelPath);
const model = loadModel(modelPath);
const planPath = join(dir, 'plan.json');
writePlan(
  planPath,
  proportionalPlan(
    model,
    presetCluster('homo2')!,
    model.ops.map((op) => op.node.name),
    ['rows'],
  ),
);

describe('memorianova deploy', () => {
  it('--json: the folder per device with its steps and files; README lines on how to start each device', () => {
    const out = join(dir, 'bundle');
    const run = cli('deploy', modelPath, '--plan', planPath, '-o', out, '--json');
    assert.equal(run.status, 0, run.stderr);
    const json = JSON.parse(run.stdout);
    assert.deepEqual(
      json.devices.map((d: { folder: string }) => d.folder),
      ['pi1', 'pi2'],
    );
    for (const d of json.devices) {
      assert.ok(d.steps > 0 && d.files === d.steps, 'one inline sub-model per step');
      assert.ok(existsSync(join(out, d.folder, 'manifest.json')));
      assert.match(readFileSync(join(out, d.folder, 'README.md'), 'utf8'), /worker --bundle <this folder> --listen/);
    }
    assert.match(readFileSync(join(out, 'README.md'), 'utf8'), /run .* --bundle <this folder> --workers/);
  });

  it('a folder that is not a bundle, or a plan for another model, ends in one error line', () => {
    const busy = join(dir, 'busy');
    mkdirSync(busy);
    writeFileSync(join(busy, 'notes.txt'), 'mine');
    const refused = cli('deploy', modelPath, '--plan', planPath, '-o', busy);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /^error: output folder '.*busy' exists and is not a bundle/);
    assert.equal(refused.stderr.trimEnd().split('\n').length, 1);
    assert.ok(existsSync(join(busy, 'notes.txt')));
    const other = cli('deploy', 'squeezenet1.0', '--plan', planPath, '-o', join(dir, 'x'));
    assert.equal(other.status, 1);
    assert.match(other.stderr, /^error: plan file .* was made for model/);
  });
});
