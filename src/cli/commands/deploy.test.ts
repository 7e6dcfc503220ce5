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
    assert.match(
      readFileSync(join(out, 'README.md'), 'utf8'),
      /worker --bundle pi1 --listen [^]*worker --bundle pi2 [^]*run .* --bundle .* --workers/,
    );
  });

  it('run --bundle --local: the workers start from their folders and the outputs equal the whole model', () => {
    const out = join(dir, 'bundle');
    const run = cli('run', modelPath, '--bundle', out, '--local', '2', '--runs', '1', '--json');
    assert.equal(run.status, 0, run.stderr);
    const json = JSON.parse(run.stdout);
    assert.equal(json.bundle, true);
    assert.ok(json.maxAbsError <= 1e-4, `max abs error ${json.maxAbsError}`);
    assert.ok(json.startMs > 0 && json.firstResultMs > json.startMs + json.setupMs, 'time to first result counts the workers starting');
  });

  it('worker --bundle with a tampered sub-model ends in one error line naming the file; --plan and --bundle exclude each other', () => {
    const out = join(dir, 'tampered');
    assert.equal(cli('deploy', modelPath, '--plan', planPath, '-o', out).status, 0);
    const manifest = JSON.parse(readFileSync(join(out, 'pi1', 'manifest.json'), 'utf8'));
    const file = join(out, 'pi1', manifest.steps[2].model.file);
    const bytes = readFileSync(file);
    bytes[10]! ^= 0xff;
    writeFileSync(file, bytes);
    const worker = cli('worker', '--bundle', join(out, 'pi1'), '--listen', '127.0.0.1:0');
    assert.equal(worker.status, 1);
    assert.equal(worker.stdout, '', 'it never listens');
    assert.match(
      worker.stderr,
      new RegExp(`^error: sub-model of step '.*' '${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}' does not match its recorded SHA-256`),
    );
    assert.equal(worker.stderr.trimEnd().split('\n').length, 1);
    const noModel = cli('run', '--bundle', join(dir, 'bundle'), '--local', '2');
    assert.match(noModel.stderr, /^error: bundle '.*' is of model 'small-cnn', which is not a built-in model: give its \.onnx file/);
    const both = cli('run', modelPath, '--plan', planPath, '--bundle', out, '--local', '2');
    assert.match(both.stderr, /^error: give exactly one of --plan FILE and --bundle DIR/);
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
