#!/usr/bin/env node
// Builds the package: compiled JS and type declarations in dist/, plus the ONNX schema the importer loads at run time.
import { spawnSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
rmSync(dist, { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], {
  stdio: 'inherit',
});
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

// Declarations keep the sources' `.ts` specifiers (TypeScript rewrites them only in JS): point them at the emitted files.
function declarations(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? declarations(path) : name.endsWith('.d.ts') ? [path] : [];
  });
}
for (const file of declarations(dist)) {
  const text = readFileSync(file, 'utf8');
  const fixed = text.replace(/(from\s+|import\(\s*)(['"])(\.{1,2}\/[^'"]*?)\.ts\2/g, '$1$2$3.js$2');
  if (fixed !== text) writeFileSync(file, fixed);
}
cpSync(join(root, 'src/onnx/schema'), join(dist, 'onnx/schema'), { recursive: true });
