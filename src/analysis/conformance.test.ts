import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { ONNX_TESTDATA, runConformance } from './conformance.ts';

test(
  'ONNX operator conformance: every supported operator test infers the expected output shapes',
  { skip: existsSync(ONNX_TESTDATA) ? false : `${ONNX_TESTDATA} is absent (Debian package libonnx-testdata)` },
  () => {
    const result = runConformance();
    assert.deepEqual(result.failed, []);
    assert.ok(result.passed.length > 700, `only ${result.passed.length} tests passed`);
  },
);
