import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readTensorFile } from './tensor.ts';
import { encodeTensor, FLOAT } from './testing.ts';

const dir = mkdtempSync(join(tmpdir(), 'memorianova-tensor-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('readTensorFile', () => {
  it('reads name, dtype, shape and little-endian bytes', () => {
    const path = join(dir, 'input_0.pb');
    writeFileSync(path, encodeTensor({ name: 'x', data_type: FLOAT, dims: [2, 1], float_data: [0.5, -1] }));
    const t = readTensorFile(path);
    assert.deepEqual(
      { ...t, bytes: [...new Float32Array(t.bytes.slice().buffer)] },
      { name: 'x', dtype: 'float32', shape: [2, 1], bytes: [0.5, -1] },
    );
  });

  it('reads string tensors as values', () => {
    const path = join(dir, 'strings.pb');
    const utf8 = new TextEncoder();
    writeFileSync(path, encodeTensor({ name: 's', data_type: 8, dims: [2], string_data: [utf8.encode('ab'), utf8.encode('ç')] }));
    assert.deepEqual(readTensorFile(path), { name: 's', dtype: 'string', shape: [2], bytes: new Uint8Array(0), strings: ['ab', 'ç'] });
  });

  const conformance = '/usr/share/libonnx-testdata/data/node/test_add/test_data_set_0';
  it('reads the conformance data of test_add', { skip: !existsSync(conformance) }, () => {
    const out = readTensorFile(join(conformance, 'output_0.pb'));
    assert.equal(out.dtype, 'float32');
    assert.deepEqual(out.shape, [3, 4, 5]);
    assert.equal(out.bytes.length, 3 * 4 * 5 * 4);
    const a = new Float32Array(readTensorFile(join(conformance, 'input_0.pb')).bytes.slice().buffer);
    const b = new Float32Array(readTensorFile(join(conformance, 'input_1.pb')).bytes.slice().buffer);
    const sum = new Float32Array(out.bytes.slice().buffer);
    sum.forEach((v, i) => assert.equal(v, Math.fround(a[i]! + b[i]!)));
  });
});
