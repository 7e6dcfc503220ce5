import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cli, scratchDir, smallCnnWithPlan } from '../testing.ts';

const dir = scratchDir('memorianova-cli-deploy-');
const { modelPath, planPath } = smallCnnWithPlan(dir);

describe('memorianova deploy', () => {
  it('--json: the folder per device with its steps and files; README lines on what each device folder holds', () => {
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
      assert.match(readFileSync(join(out, d.folder, 'README.md'), 'utf8'), new RegExp(`^Device '${d.name}' .*\\n.*manifest\\.json`));
    }
    assert.match(readFileSync(join(out, 'README.md'), 'utf8'), /run .* --plan plan\.json --workers/);
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
