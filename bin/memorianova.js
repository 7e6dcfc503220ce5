#!/usr/bin/env node
// From a clone the command runs the TypeScript sources through tsx; the installed package runs its built JS.
// MEMORIANOVA_DIST names a compiled tree to run instead (the test runner's: tsx costs each spawn about 1.5 s to start).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const source = new URL('../src/cli/main.ts', import.meta.url);
const compiled = process.env.MEMORIANOVA_DIST;
if (compiled) {
  await import(pathToFileURL(join(compiled, 'cli/main.js')).href);
} else if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else {
  await import('../dist/cli/main.js');
}
