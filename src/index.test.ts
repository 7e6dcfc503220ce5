import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

// The package as a user gets it: `npm pack` (which builds dist/), unpacked into a scratch project's node_modules
// beside this checkout's installed dependencies (linked, so no network), imported from plain Node and from TypeScript.
const root = fileURLToPath(new URL('..', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'memorianova-package-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs a command as a user of the installed package would: without the test runner's compiled tree (MEMORIANOVA_DIST). */
function run(command: string, args: string[], cwd: string) {
  const { MEMORIANOVA_DIST: _compiled, ...env } = process.env;
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env });
  assert.equal(result.status, 0, `${command} ${args.join(' ')}\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

const USE_MJS = `
import { VERSION, loadModel, planOrder, loadCluster, singleDevicePlan, simulate, runPlanJob, formatPlan, readPlan,
  MemoriaNovaError } from 'memorianova';
import { writeFileSync } from 'node:fs';
const model = loadModel('squeezenet1.0');
const order = planOrder(model, { timeLimitMs: 2000, randomSamples: 5 });
const cluster = loadCluster('homo2');
const single = singleDevicePlan(model, cluster, order.orderNames);
const simulated = simulate(model, cluster, single);
// GenEFlow with one worker thread: the built package's worker entry must load without a TypeScript loader.
const job = await runPlanJob(model, cluster, { orderTimeLimitMs: 2000, methods: ['single', 'geneflow'],
  geneflow: { maxGenerations: 2, workers: 1, seed: 1 } });
writeFileSync('plan.json', formatPlan(job.result.methods[0].plan));
const reread = readPlan('plan.json', model);
let error;
try { loadModel('no-such-model'); } catch (e) { error = e; }
console.log(JSON.stringify({ version: VERSION, peak: order.peakBytes, latency: simulated.latencyMs,
  methods: job.result.methods.map((m) => m.name), reread: reread.method,
  error: error instanceof MemoriaNovaError ? error.code : String(error) }));
`;

const USE_TS = `
import { loadCluster, loadModel, runPlanJob, MemoriaNovaError, type Cluster, type Plan, type PlanJob } from 'memorianova';
const cluster: Cluster = loadCluster('homo2');
const job: PlanJob = await runPlanJob(loadModel('squeezenet1.0'), cluster, { methods: ['single'] });
const plan: Plan = job.result.methods[0]!.plan;
const devices: number = plan.cluster.devices.length;
const error: MemoriaNovaError = new MemoriaNovaError('bad', 'usage');
// @ts-expect-error a plan's method is a string: this fails to fail if the declarations resolved to 'any'
const wrong: number = plan.method;
console.log(devices, error.code, wrong);
`;

describe('the installed package', () => {
  const project = join(scratch, 'project');
  const modules = join(project, 'node_modules');
  const installed = join(modules, 'memorianova');

  it('npm pack builds dist/ and the tarball holds the JS, the declarations and the command', () => {
    const packed = run('npm', ['pack', '--silent', '--pack-destination', scratch], root).trim().split('\n').at(-1)!;
    mkdirSync(installed, { recursive: true });
    run('tar', ['xzf', join(scratch, packed), '-C', installed, '--strip-components=1'], scratch);
    for (const name of readdirSync(join(root, 'node_modules')))
      if (name !== 'memorianova') symlinkSync(join(root, 'node_modules', name), join(modules, name));
    writeFileSync(join(project, 'package.json'), '{"name": "user-project", "private": true, "type": "module"}\n');
    const files = readdirSync(installed);
    assert.deepEqual(
      files.filter((f) => f === 'src'),
      [],
      'the sources stay out of the package',
    );
    for (const file of ['dist/index.js', 'dist/index.d.ts', 'dist/onnx/schema/onnx.proto', 'bin/memorianova.js'])
      assert.ok(readFileSync(join(installed, file)).length > 0, file);
  });

  it("a plain .mjs imports 'memorianova' without a TypeScript loader and runs the pipeline", () => {
    writeFileSync(join(project, 'use.mjs'), USE_MJS);
    const out = JSON.parse(run(process.execPath, ['use.mjs'], project)) as Record<string, unknown>;
    const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
    assert.equal(out.version, version);
    assert.ok((out.peak as number) > 0 && (out.latency as number) > 0);
    assert.deepEqual(out.methods, ['single', 'geneflow']);
    assert.equal(out.reread, 'single');
    assert.equal(out.error, 'invalid-input');
  });

  it('the installed command runs from the built JS', () => {
    const bin = join(installed, 'bin', 'memorianova.js');
    const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
    assert.equal(run(process.execPath, [bin, '--version'], project).trim(), version);
    assert.match(run(process.execPath, [bin, 'zoo'], project), /^name +title/);
  });

  it('TypeScript users get the declarations: a strict project type-checks against them', () => {
    writeFileSync(join(project, 'use.ts'), USE_TS);
    const tsconfig = {
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noEmit: true,
        types: ['node'],
        skipLibCheck: true,
      },
      files: ['use.ts'],
    };
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify(tsconfig));
    run(process.execPath, [join(modules, 'typescript', 'bin', 'tsc'), '-p', project], project);
  });
});
