// ONNX operator conformance of shape inference (npm run conformance). See docs/costs.md.
import { existsSync } from 'node:fs';
import { ONNX_TESTDATA, runConformance } from '../src/analysis/conformance.ts';

const root = process.argv.slice(2).find((a) => !a.startsWith('--')) ?? ONNX_TESTDATA;
if (!existsSync(root)) {
  console.log(`skipped: ${root} is absent (install the Debian package libonnx-testdata to run the conformance check)`);
  process.exit(0);
}
const verbose = process.argv.includes('--verbose');
const result = runConformance(root);
for (const { test, reason } of result.notImportable) console.log(`not importable ${test}: ${reason}`);
for (const { test, reason } of result.failed) console.log(`FAIL ${test}: ${reason}`);
if (verbose) for (const { test, operator } of result.skipped) console.log(`skip ${test}: ${operator} is not supported`);
const skippedOps = new Set(result.skipped.map((s) => s.operator));
console.log(`${result.notImportable.length} tests skipped: their models are outside the IR (sequences, optionals, training domain)`);
console.log(
  `${result.skipped.length} tests skipped: they use ${skippedOps.size} operator types the analysis does not support${verbose ? '' : ' (--verbose lists them)'}`,
);
console.log(`${result.operators} operators supported, ${result.passed.length} shape tests passed, ${result.failed.length} failed`);
process.exitCode = result.failed.length === 0 ? 0 : 1;
