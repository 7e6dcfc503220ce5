#!/usr/bin/env node
// Builds the package: compiled JS and type declarations in dist/, plus the ONNX schema the importer loads at run time.
import { spawnSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * Compiles src/ into `dist` (emptied first) with the ONNX schema beside the importer, and with type declarations
 * unless `declarations` is false. Returns tsc's exit status (0 on success).
 */
export function compileTo(dist, { declarations = true } = {}) {
  rmSync(dist, { recursive: true, force: true });
  const tsc = spawnSync(
    process.execPath,
    [
      join(root, 'node_modules/typescript/bin/tsc'),
      '-p',
      join(root, 'tsconfig.build.json'),
      '--outDir',
      dist,
      '--declaration',
      String(declarations),
    ],
    { stdio: 'inherit' },
  );
  if (tsc.status !== 0) return tsc.status ?? 1;
  // Declarations keep the sources' `.ts` specifiers (TypeScript rewrites them only in JS): point them at the emitted files.
  if (declarations)
    for (const file of declarationFiles(dist)) {
      const text = readFileSync(file, 'utf8');
      const fixed = text.replace(/(from\s+|import\(\s*)(['"])(\.{1,2}\/[^'"]*?)\.ts\2/g, '$1$2$3.js$2');
      if (fixed !== text) writeFileSync(file, fixed);
    }
  cpSync(join(root, 'src/onnx/schema'), join(dist, 'onnx/schema'), { recursive: true });
  return 0;
}

function declarationFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? declarationFiles(path) : name.endsWith('.d.ts') ? [path] : [];
  });
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const status = compileTo(join(root, 'dist'));
  if (status !== 0) process.exit(status);
}
