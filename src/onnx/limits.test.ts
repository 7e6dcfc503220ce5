import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { MemoriaNovaError } from '../errors.ts';
import { countGraphNodes, DEFAULT_IMPORT_LIMITS } from './limits.ts';
import { readModelBytes, readModelFile } from './read.ts';
import { encodeModel, FLOAT, INT64, tensorValueInfo, tinyModel } from './testing.ts';

const dir = mkdtempSync(join(tmpdir(), 'memorianova-limits-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function rejects(action: () => unknown, pattern: RegExp): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof MemoriaNovaError, `expected a MemoriaNovaError, got ${String(error)}`);
    assert.match(error.message, pattern);
    assert.ok(error.message.length < 400, `the message is short: ${error.message.length} characters`);
    return true;
  });
}

/** One sparse initializer of `elements` float32 zeros but one: a few bytes in the file, `4 × elements` made dense. */
function sparse(name: string, elements: number): object {
  return {
    values: { name, data_type: FLOAT, dims: [1], float_data: [1] },
    indices: { name: `${name}_i`, data_type: INT64, dims: [1], int64_data: [0] },
    dims: [elements],
  };
}

/** f0 calls f1 `fanOut` times, f1 calls f2 ..., the last one is one Relu: fanOut^depth nodes from one call. */
function amplifier(depth: number, fanOut: number): Uint8Array {
  const fn = (k: number) => ({
    name: `f${k}`,
    domain: 'amp',
    input: ['X'],
    output: ['Y'],
    opset_import: [
      { domain: '', version: 17 },
      { domain: 'amp', version: 1 },
    ],
    node:
      k === depth
        ? [{ op_type: 'Relu', input: ['X'], output: ['Y'] }]
        : Array.from({ length: fanOut }, (_, j) => ({
            op_type: `f${k + 1}`,
            domain: 'amp',
            input: [j === 0 ? 'X' : `t${j - 1}`],
            output: [j === fanOut - 1 ? 'Y' : `t${j}`],
          })),
  });
  return encodeModel(
    tinyModel(
      { node: [{ name: 'call', op_type: 'f0', domain: 'amp', input: ['x'], output: ['y'] }] },
      {
        opset_import: [
          { domain: '', version: 17 },
          { domain: 'amp', version: 1 },
        ],
        functions: Array.from({ length: depth + 1 }, (_, k) => fn(k)),
      },
    ),
  );
}

describe('import limits', () => {
  it('a sparse initializer of 2^33 elements in a file of about a hundred bytes is refused before it is made dense', () => {
    const bytes = encodeModel(tinyModel({ sparse_initializer: [sparse('s', 2 ** 33)] }));
    assert.ok(bytes.length < 160, `the file is ${bytes.length} bytes`);
    rejects(
      () => readModelBytes(bytes, dir),
      /^sparse initializer 's' is float32\[8589934592\] \(34359738368 bytes made dense\), over the limit of 4294967296 \(--max-tensor-bytes\)$/,
    );
    // Under the per-tensor limit, several sparse initializers still may not add up past the sparse limit.
    const many = encodeModel(tinyModel({ sparse_initializer: [sparse('a', 2 ** 25), sparse('b', 2 ** 25), sparse('c', 2 ** 25)] }));
    rejects(
      () => readModelBytes(many, dir),
      /^sparse initializer 'c' is float32\[33554432\] \(134217728 bytes made dense\); the sparse initializers would take 402653184 bytes made dense, over the limit of 268435456 \(--max-sparse-bytes\)$/,
    );
    const graph = readModelBytes(many, dir, 'many', { maxSparseBytes: 2 ** 29 });
    assert.equal(graph.initializers.get('c')!.shape[0], 2 ** 25);
  });

  it('declared tensor bytes are bounded one by one and together, external data included, before any file is looked at', () => {
    const external = {
      name: 'big',
      data_type: FLOAT,
      dims: [2 ** 31],
      data_location: 1,
      external_data: [{ key: 'location', value: 'never-read.data' }],
    };
    rejects(
      () => readModelBytes(encodeModel(tinyModel({ initializer: [external] })), dir),
      /^initializer 'big' is float32\[2147483648\] \(8589934592 bytes\), over the limit of 4294967296 \(--max-tensor-bytes\)$/,
    );
    const w = (name: string) => ({ name, data_type: FLOAT, dims: [4], float_data: [1, 2, 3, 4] });
    const two = encodeModel(tinyModel({ initializer: [w('w1'), w('w2')] }));
    assert.equal(readModelBytes(two, dir, 'two', { maxTotalTensorBytes: 32 }).initializers.size, 2);
    rejects(
      () => readModelBytes(two, dir, 'two', { maxTotalTensorBytes: 31 }),
      /^initializer 'w2' is float32\[4\] \(16 bytes\), which brings the model's tensors to 32 bytes, over the limit of 31 \(--max-total-tensor-bytes\)$/,
    );
  });

  it('functions that call each other into 2^30 nodes are refused from their bodies alone, naming the function', () => {
    const bytes = amplifier(30, 2);
    assert.ok(bytes.length < 4000, `the file is ${bytes.length} bytes`);
    const before = process.memoryUsage().rss;
    rejects(
      () => readModelBytes(bytes, dir),
      /^model-local functions expand the graph to 1073741824 nodes, over the limit of 250000 \(--max-nodes\): one call of function 'f0' alone expands to 1073741824 nodes$/,
    );
    assert.ok(process.memoryUsage().rss - before < 200e6, 'nothing was expanded');
    // Wider calls pass 2^53 nodes: the count is printed in exponent form, not as a wrong integer.
    rejects(() => readModelBytes(amplifier(30, 7), dir), /expand the graph to 2\.25e\+25 nodes/);
    // Within the limit the same shape of file expands, to exactly fanOut^depth nodes.
    assert.equal(readModelBytes(amplifier(10, 2), dir).nodes.length, 1024);
    rejects(() => readModelBytes(amplifier(10, 2), dir, 'm', { maxNodes: 1023 }), /to 1024 nodes, over the limit of 1023 \(--max-nodes\)/);
  });

  it('calls nested past the depth limit are refused naming the function; recursion is named as such', () => {
    rejects(
      () => readModelBytes(amplifier(40, 1), dir),
      /^calls of model-local functions nest 33 deep at function 'f32' \(f0 → f1 → … → f31 → f32\), over the limit of 32 \(--max-function-depth\)$/,
    );
    assert.equal(readModelBytes(amplifier(40, 1), dir, 'm', { maxFunctionDepth: 41 }).nodes.length, 1);
    const loop = encodeModel(
      tinyModel(
        { node: [{ op_type: 'a', domain: 'r', input: ['x'], output: ['y'] }] },
        {
          functions: [
            { name: 'a', domain: 'r', input: ['X'], output: ['Y'], node: [{ op_type: 'b', domain: 'r', input: ['X'], output: ['Y'] }] },
            { name: 'b', domain: 'r', input: ['X'], output: ['Y'], node: [{ op_type: 'a', domain: 'r', input: ['X'], output: ['Y'] }] },
          ],
        },
      ),
    );
    rejects(() => readModelBytes(loop, dir), /^model-local function 'a' calls itself \(a → b → a\), which ONNX forbids$/);
  });

  it('a chain of a million nodes is refused by the default node limit before it is decoded', () => {
    const n = 1_000_000;
    const nodes = Array.from({ length: n }, (_, i) => ({ op_type: 'Relu', input: [`t${i}`], output: [`t${i + 1}`] }));
    const bytes = encodeModel(
      tinyModel({ node: nodes, input: [tensorValueInfo('t0', FLOAT, [2])], output: [tensorValueInfo(`t${n}`, FLOAT, [2])] }),
    );
    assert.equal(countGraphNodes(bytes), n);
    rejects(() => readModelBytes(bytes, dir, 'chain.onnx'), /^'chain\.onnx' has 1000000 nodes, over the limit of 250000 \(--max-nodes\)$/);
    assert.equal(DEFAULT_IMPORT_LIMITS.maxNodes, 250_000);
    // The wire count is the decoder's: a small model agrees, corrupt bytes give no count.
    assert.equal(countGraphNodes(encodeModel(tinyModel())), 1);
    assert.equal(countGraphNodes(Uint8Array.from([0x3a, 0x7f, 0x0a])), undefined);
  });

  it('a megabyte-long name in an error message is cut to 1,000 characters', () => {
    const name = 'n'.repeat(1_000_000);
    assert.throws(
      () => readModelBytes(encodeModel(tinyModel({ node: [{ name, input: ['x'], output: ['y'] }] })), dir),
      (error: unknown) => error instanceof MemoriaNovaError && error.message.length === 1001 && error.message.endsWith('n…'),
    );
  });

  it('external data behind a symlink must stay inside the model folder', () => {
    const folder = join(dir, 'linked');
    mkdirSync(join(folder, 'inside'), { recursive: true });
    writeFileSync(join(folder, 'inside', 'w.data'), new Uint8Array(16));
    mkdirSync(join(dir, 'outside'));
    writeFileSync(join(dir, 'outside', 'secret'), 'not for the model');
    symlinkSync(join(dir, 'outside'), join(folder, 'etc'));
    symlinkSync(join(folder, 'inside'), join(folder, 'here'));
    const model = (location: string, bytes: number) =>
      encodeModel(
        tinyModel({
          initializer: [
            { name: 'w', data_type: 2, dims: [bytes], data_location: 1, external_data: [{ key: 'location', value: location }] },
          ],
        }),
      );
    const path = join(folder, 'm.onnx');
    writeFileSync(path, model('etc/secret', 17));
    rejects(
      () => readModelFile(path),
      /^initializer 'w' stores its data at 'etc\/secret', which leads outside the model's folder \(to .*outside\/secret\)$/,
    );
    writeFileSync(path, model('here/w.data', 16));
    assert.equal(readModelFile(path).initializers.get('w')!.data.kind, 'external', 'a symlink within the folder is fine');
  });
});
