import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { MemoriaNovaError } from '../errors.ts';
import { weightBytes } from '../ir/weights.ts';
import { mulberry32 } from '../random.ts';
import { readModelBytes, readModelFile } from './read.ts';
import { readTensorFile } from './tensor.ts';
import { encodeModel, encodeTensor, FLOAT, tensorValueInfo, tinyModel } from './testing.ts';

const fixture = fileURLToPath(new URL('./testdata/tiny-external.onnx', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'memorianova-bad-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Asserts a clean, one-line MemoriaNovaError whose message matches `pattern`. */
function rejects(action: () => unknown, pattern: RegExp): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof MemoriaNovaError, `expected a MemoriaNovaError, got ${String(error)}`);
    assert.match(error.message, pattern);
    assert.ok(!error.message.includes('\n'), 'the message is one line');
    return true;
  });
}

function file(name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

const bytesOf = (model: object) => encodeModel(model);

describe('bad model input', () => {
  it('garbage bytes', () => {
    const next = mulberry32(7);
    const garbage = Uint8Array.from({ length: 512 }, () => Math.floor(next() * 256));
    rejects(() => readModelFile(file('garbage.onnx', garbage)), /garbage\.onnx' is not (a valid ONNX model|an ONNX model)/);
  });

  it('a truncated file', () => {
    const whole = readFileSync(fixture);
    rejects(
      () => readModelFile(file('truncated.onnx', whole.subarray(0, Math.floor(whole.length / 2)))),
      /truncated\.onnx' is not a valid ONNX model \(corrupt or truncated protobuf/,
    );
  });

  it('a protobuf that is not a model (a TensorProto)', () => {
    const tensor = encodeTensor({ name: 'x', data_type: FLOAT, dims: [2], raw_data: new Uint8Array(8) });
    rejects(() => readModelFile(file('tensor.onnx', tensor)), /tensor\.onnx' is not (a valid ONNX model|an ONNX model)/);
  });

  it('a protobuf without a graph or an ir_version', () => {
    rejects(() => readModelBytes(bytesOf({ ir_version: 8 }), dir, 'nograph.onnx'), /'nograph\.onnx' is not an ONNX model: it has no graph/);
    rejects(
      () => readModelBytes(bytesOf(tinyModel({}, { ir_version: 0 })), dir, 'noir.onnx'),
      /'noir\.onnx' is not an ONNX model: it has no ir_version/,
    );
  });

  it('an empty file', () => {
    rejects(() => readModelFile(file('empty.onnx', new Uint8Array(0))), /empty\.onnx' is empty, not an ONNX model/);
  });

  it('a nonexistent path and a directory', () => {
    rejects(() => readModelFile(join(dir, 'nope.onnx')), /model file '.*nope\.onnx' does not exist/);
    rejects(() => readModelFile(dir), /is not a file/);
  });

  it('a missing external-data file names the tensor and the file', () => {
    const model = join(dir, 'no-data.onnx');
    copyFileSync(fixture, model);
    rejects(
      () => readModelFile(model),
      /initializer 'W' stores its data in 'tiny-external\.onnx\.data', but .*tiny-external\.onnx\.data does not exist/,
    );
  });

  it('an external-data file shorter than the tensor needs', () => {
    const sub = mkdtempSync(join(dir, 'short-'));
    copyFileSync(fixture, join(sub, 'tiny-external.onnx'));
    copyFileSync(`${fixture}.data`, join(sub, 'tiny-external.onnx.data'));
    truncateSync(join(sub, 'tiny-external.onnx.data'), 50);
    rejects(
      () => readModelFile(join(sub, 'tiny-external.onnx')),
      /initializer 'b' needs bytes 48\.\.60 of 'tiny-external\.onnx\.data', but the file has only 50 bytes/,
    );
  });

  it('external data deleted after import fails when the bytes are needed', () => {
    const sub = mkdtempSync(join(dir, 'gone-'));
    copyFileSync(fixture, join(sub, 'm.onnx'));
    copyFileSync(`${fixture}.data`, join(sub, 'tiny-external.onnx.data'));
    const graph = readModelFile(join(sub, 'm.onnx'));
    rmSync(join(sub, 'tiny-external.onnx.data'));
    rejects(() => weightBytes(graph.initializers.get('W')!), /weight 'W': its external data file .* cannot be opened/);
  });

  it('a graph with a cycle', () => {
    const model = tinyModel({
      node: [
        { name: 'a', op_type: 'Add', input: ['x', 'q'], output: ['p'] },
        { name: 'b', op_type: 'Relu', input: ['p'], output: ['q'] },
        { name: 'c', op_type: 'Relu', input: ['p'], output: ['y'] },
      ],
    });
    rejects(() => readModelBytes(bytesOf(model), dir, 'cyclic.onnx'), /cycle/);
  });

  it('a tensor nobody produces', () => {
    const model = tinyModel({ node: [{ name: 'add', op_type: 'Add', input: ['x', 'ghost'], output: ['y'] }] });
    rejects(() => readModelBytes(bytesOf(model), dir), /node 'add' \(Add\) reads tensor 'ghost', which no node, input or weight defines/);
  });

  it('two producers of one tensor', () => {
    const model = tinyModel({
      node: [
        { name: 'one', op_type: 'Relu', input: ['x'], output: ['y'] },
        { name: 'two', op_type: 'Sigmoid', input: ['x'], output: ['y'] },
      ],
    });
    rejects(() => readModelBytes(bytesOf(model), dir), /tensor 'y' is produced by two nodes: 'one' and 'two'/);
  });

  it('inconsistent or absurd tensors', () => {
    const withInit = (init: object) => tinyModel({ initializer: [init] });
    rejects(
      () => readModelBytes(bytesOf(withInit({ name: 'w', data_type: FLOAT, dims: [4], raw_data: new Uint8Array(12) })), dir),
      /initializer 'w' has 12 bytes of raw_data, expected 16 for float32\[4\]/,
    );
    rejects(
      () => readModelBytes(bytesOf(withInit({ name: 'w', data_type: FLOAT, dims: [2 ** 40, 2 ** 40], raw_data: new Uint8Array(4) })), dir),
      /initializer 'w' has shape .* too large/,
    );
    rejects(() => readModelBytes(bytesOf(withInit({ name: 'w', data_type: 99, dims: [1] })), dir), /initializer 'w' has data type 99/);
    rejects(
      () => readModelBytes(bytesOf(withInit({ name: 'w', data_type: FLOAT, dims: [3], int64_data: [1, 2, 3] })), dir),
      /initializer 'w' is float32 but stores int64_data/,
    );
    rejects(
      () =>
        readModelBytes(
          bytesOf(
            withInit({
              name: 'w',
              data_type: FLOAT,
              dims: [1],
              data_location: 1,
              external_data: [{ key: 'location', value: '../../etc/passwd' }],
            }),
          ),
          dir,
        ),
      /outside the model's folder/,
    );
  });

  it('non-tensor inputs, missing types and missing opsets', () => {
    const seq = { name: 'x', type: { sequence_type: { elem_type: { tensor_type: { elem_type: FLOAT } } } } };
    rejects(() => readModelBytes(bytesOf(tinyModel({ input: [seq] })), dir), /graph input 'x' is a sequence; only tensors are supported/);
    rejects(() => readModelBytes(bytesOf(tinyModel({ output: [{ name: 'y' }] })), dir), /graph output 'y' has no type/);
    rejects(
      () => readModelBytes(bytesOf(tinyModel({}, { opset_import: [] })), dir, 'm.onnx'),
      /'m\.onnx' imports no opset of the default ONNX domain/,
    );
    rejects(() => readModelBytes(bytesOf(tinyModel({ node: [{ input: ['x'], output: ['y'] }] })), dir), /node #0 has no op_type/);
    rejects(
      () => readModelBytes(bytesOf(tinyModel({ input: [tensorValueInfo('x', FLOAT, [2 ** 60])] })), dir),
      /dimension 0 of graph input 'x' is .* not a usable integer/,
    );
  });
});

describe('bad tensor files', () => {
  it('garbage, a model file and a missing file', () => {
    rejects(() => readTensorFile(join(dir, 'none.pb')), /tensor file '.*none\.pb' does not exist/);
    rejects(() => readTensorFile(file('model.pb', readFileSync(fixture))), /not (a valid ONNX tensor|an ONNX tensor)|data type|shape/);
    rejects(() => readTensorFile(file('junk.pb', Uint8Array.from([0x0a, 0xff, 0xff, 0xff, 0x7f]))), /is not a valid ONNX tensor/);
  });
});
