import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { GraphBuilder } from '../ir/builder.ts';
import type { Graph } from '../ir/graph.ts';
import { encodeModel, tinyModel } from '../onnx/testing.ts';
import { writeModelBytes, writeModelFile } from '../onnx/write.ts';

const bin = fileURLToPath(new URL('../../bin/memorianova.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'memorianova-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]) {
  const result = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A bad input must end in one `error:` line on stderr, exit code 1, and no stack trace. */
function assertCleanError(args: string[], pattern: RegExp): void {
  const { status, stderr, stdout } = cli(...args);
  assert.equal(status, 1, `exit code for ${args.join(' ')}: stderr was ${stderr}`);
  assert.equal(stdout, '');
  const lines = stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${stderr}`);
  assert.match(lines[0]!, /^error: /);
  assert.match(lines[0]!, pattern);
}

function smallGraph(mutate?: (b: GraphBuilder, x: string) => string, inputShape: (number | string)[] = [1, 3, 8, 8]): Graph {
  const b = new GraphBuilder('small');
  const x = b.input('x', 'float32', inputShape);
  const conv = b.op('Conv', [x, b.weight('w', [4, 3, 3, 3])], { pads: [1, 1, 1, 1] }, 'conv');
  const y = mutate === undefined ? b.op('Relu', [conv], {}, 'relu') : mutate(b, conv);
  b.output(y);
  return b.build();
}

function modelFile(name: string, graph: Graph): string {
  const path = join(dir, name);
  writeFileSync(path, writeModelBytes(graph));
  return path;
}

describe('CLI errors on bad input', () => {
  it('garbage bytes', () => {
    const path = join(dir, 'garbage.onnx');
    writeFileSync(path, Buffer.from('this is not a protobuf at all \u00ff\u00fe'.repeat(20)));
    assertCleanError(['inspect', path], /garbage\.onnx/);
  });

  it('a truncated model', () => {
    const whole = readFileSync(modelFile('whole.onnx', smallGraph()));
    const path = join(dir, 'truncated.onnx');
    writeFileSync(path, whole.subarray(0, Math.floor(whole.length * 0.6)));
    assertCleanError(['inspect', path], /truncated\.onnx/);
  });

  it('a cyclic graph', () => {
    const graph = smallGraph();
    // relu feeds back into conv: conv(x, w) → relu → conv's input.
    graph.nodes[0]!.inputs[0] = graph.nodes[1]!.outputs[0]!;
    graph.nodes[1]!.inputs[0] = graph.nodes[0]!.outputs[0]!;
    graph.inputs = [];
    assertCleanError(['inspect', modelFile('cycle.onnx', graph)], /cycle/);
  });

  it('a tensor nobody produces', () => {
    const graph = smallGraph();
    graph.nodes[1]!.inputs[0] = 'ghost';
    assertCleanError(['inspect', modelFile('ghost.onnx', graph)], /'ghost'/);
  });

  it('an unsupported operator names the op type and node', () => {
    const graph = smallGraph((b, x) => b.op('FrobnicateV2', [x], {}, 'mystery'));
    assertCleanError(['inspect', modelFile('unknown-op.onnx', graph)], /FrobnicateV2.*mystery|mystery.*FrobnicateV2/);
  });

  it('a dynamic dimension without a binding names the input and dimension, and a binding fixes it', () => {
    const path = modelFile('dynamic.onnx', smallGraph(undefined, ['batch', 3, 8, 8]));
    assertCleanError(['inspect', path], /'x'.*'batch'/);
    const bound = cli('inspect', path, '--dim', 'batch=2', '--json');
    assert.equal(bound.status, 0, bound.stderr);
    assert.deepEqual(JSON.parse(bound.stdout).tensors.conv_out, [2, 4, 8, 8]);
    assertCleanError(
      ['inspect', path, '--dim', 'bacth=2'],
      /^error: --dim bacth=2 names no dimension of the model's inputs \(its symbolic dimensions: batch\)$/,
    );
  });

  it('options the model cannot take: more layers than it has, a dimension it lacks, an --out that is a file', () => {
    assertCleanError(['inspect', 'gpt2', '--layers', '1000000'], /^error: model 'gpt2': layers 1000000 exceeds its 12 layers$/);
    assertCleanError(
      ['inspect', 'squeezenet1.0', '--dim', 'foo=3'],
      /^error: --dim foo=3 names no dimension of the model's inputs \(they have no symbolic dimensions\)$/,
    );
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    assertCleanError(
      ['plan', 'squeezenet1.0', '--cluster', 'homo2', '--out', file],
      /^error: --out '.*a-file' cannot be used as a folder: a file is in the way$/,
    );
    assertCleanError(
      ['order', 'squeezenet1.0', '--time-limit', '1', '--plot', file],
      /^error: --plot '.*a-file' cannot be used as a folder: a file is in the way$/,
    );
    assertCleanError(
      ['order', 'squeezenet1.0', '--time-limit', '1', '--out', join(file, 'o.json')],
      /^error: --out '.*a-file\/o\.json' cannot be written: a file is in the way$/,
    );
    assertCleanError(
      ['simulate', 'squeezenet1.0', '--cluster', 'homo2', '--plan', 'single', '--plot', file],
      /cannot be used as a folder: a file is in the way$/,
    );
    assertCleanError(['deploy', 'squeezenet1.0', '--plan', 'none.json', '-o', file], /^error: -o '.*a-file' is a file, not a folder$/);
  });

  it('import limits: a hostile sparse file is refused; --max-* flags move the limits', () => {
    const sparse = (elements: number) => ({
      values: { name: 's', data_type: 1, dims: [1], float_data: [1] },
      indices: { name: 'i', data_type: 7, dims: [1], int64_data: [0] },
      dims: [elements],
    });
    const hostile = join(dir, 'sparse.onnx');
    writeFileSync(hostile, encodeModel(tinyModel({ sparse_initializer: [sparse(2 ** 33)] })));
    assertCleanError(
      ['inspect', hostile],
      /^error: sparse initializer 's' is float32\[8589934592\] \(34359738368 bytes made dense\), over the limit of 4294967296 \(--max-tensor-bytes\)$/,
    );
    const small = join(dir, 'sparse-small.onnx');
    writeFileSync(small, encodeModel(tinyModel({ sparse_initializer: [sparse(2 ** 20)] })));
    assert.equal(cli('inspect', small).status, 0);
    assertCleanError(['inspect', small, '--max-sparse-bytes', '1MiB'], /over the limit of 1048576 \(--max-sparse-bytes\)$/);
    assertCleanError(
      ['inspect', small, '--max-total-tensor-bytes', '4MB'],
      /brings the model's tensors to \d+ bytes, over the limit of 4000000 \(--max-total-tensor-bytes\)$/,
    );
    assertCleanError(['inspect', small, '--max-nodes', '0'], /^error: --max-nodes must be a positive integer, got '0'$/);
    assertCleanError(
      ['inspect', small, '--max-tensor-bytes', 'lots'],
      /^error: --max-tensor-bytes must be a positive byte count such as 1000000, 512MiB or 4GB, got 'lots'$/,
    );
  });

  it('a missing external-data file', () => {
    const path = join(dir, 'external.onnx');
    writeModelFile(smallGraph(), path, { externalData: 'always' });
    unlinkSync(`${path}.data`);
    assertCleanError(['inspect', path], /external\.onnx\.data/);
  });

  it('an unknown zoo name lists the built-in models', () => {
    assertCleanError(['inspect', 'resnet51'], /unknown model 'resnet51'.*resnet50/);
  });

  it('a reader that goes away (zoo | head) ends the command quietly with exit 0, not an EPIPE stack trace', async () => {
    const child = spawn(process.execPath, [bin, 'zoo'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    assert.equal(code, 0, `exit code; stderr was ${stderr}`);
    assert.equal(stderr, '');
  });

  it('--debug adds the stack trace', () => {
    const { status, stderr } = cli('inspect', 'resnet51', '--debug');
    assert.equal(status, 1);
    assert.match(stderr, /\n\s+at /);
  });
});

describe('inspect', () => {
  it('prints the JSON fields scripts rely on, with the numbers of a hand-computable model', () => {
    const { status, stdout, stderr } = cli('inspect', modelFile('small.onnx', smallGraph()), '--json');
    assert.equal(status, 0, stderr);
    const json = JSON.parse(stdout);
    assert.equal(json.operators, 2);
    assert.equal(json.params, 4 * 3 * 3 * 3);
    assert.equal(json.weightBytes, 4 * 3 * 3 * 3 * 4);
    // Conv: 2·(4·8·8)·(3·3·3) = 13824 FLOPs; Relu: one per element = 256.
    assert.equal(json.flops, 13824 + 256);
    // x (768 B) and conv_out (1024 B) are live while conv runs; Relu runs in place on conv_out.
    assert.equal(json.peakBytes, 3 * 64 * 4 + 4 * 64 * 4);
    assert.deepEqual(json.tensors, { x: [1, 3, 8, 8], conv_out: [1, 4, 8, 8], relu_out: [1, 4, 8, 8] });
  });
});
