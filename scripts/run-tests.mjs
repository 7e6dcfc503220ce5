#!/usr/bin/env node
// Runs every *.test.ts under src/ and bench/ with node's built-in test runner (Node 20 has no recursive globs).
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { compileTo } from './build.mjs';

function findTests(dir) {
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...findTests(path));
    else if (entry.name.endsWith('.test.ts')) found.push(path);
  }
  return found;
}

const filters = process.argv.slice(2);
const files = ['src', 'bench']
  .flatMap(findTests)
  .filter((f) => filters.length === 0 || filters.some((p) => f.includes(p)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
/**
 * The sources compiled once into a scratch tree laid out like the package (bin/, dist/, package.json, node_modules),
 * which every spawn of bin/memorianova.js then runs (MEMORIANOVA_DIST): the CLI tests and `run --local` start a
 * few hundred processes, and through tsx each one takes about 1.5 s longer to start.
 */
function compileForSpawns() {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const tree = mkdtempSync(join(tmpdir(), 'memorianova-tests-'));
  const status = compileTo(join(tree, 'dist'), { declarations: false });
  if (status !== 0) {
    rmSync(tree, { recursive: true, force: true });
    process.exit(status);
  }
  mkdirSync(join(tree, 'bin'));
  copyFileSync(join(root, 'bin/memorianova.js'), join(tree, 'bin/memorianova.js'));
  copyFileSync(join(root, 'package.json'), join(tree, 'package.json'));
  symlinkSync(join(root, 'node_modules'), join(tree, 'node_modules'));
  return tree;
}

const tree = compileForSpawns();
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], {
  stdio: 'inherit',
  env: {
    ...process.env,
    MEMORIANOVA_DIST: join(tree, 'dist'),
    // Tests create onnxruntime sessions in-process: no telemetry, no mat-debug-<pid>.log (src/runtime/telemetry.ts).
    ORT_DISABLE_TELEMETRY: process.env.ORT_DISABLE_TELEMETRY ?? '1',
  },
});
rmSync(tree, { recursive: true, force: true });
process.exit(result.status ?? 1);
