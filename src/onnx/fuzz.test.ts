import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { MemoriaNovaError } from '../errors.ts';
import { GraphBuilder } from '../ir/builder.ts';
import { readModelBytes } from './read.ts';
import { writeModelBytes } from './write.ts';

const testdata = fileURLToPath(new URL('./testdata/', import.meta.url));

/** A small CNN-like model exercising every common field: attributes, inline weights, symbolic dims. */
function baseModel(): Uint8Array {
  const b = new GraphBuilder('fuzz_base');
  const x = b.input('x', 'float32', ['batch', 3, 8, 8]);
  const conv = b.op('Conv', [x, b.weight('w', [4, 3, 3, 3]), b.weight('bias', [4])], { pads: [1, 1, 1, 1], group: 1 });
  const relu = b.op('LeakyRelu', [conv], { alpha: 0.1 });
  const pool = b.op('MaxPool', [relu], { kernel_shape: [2, 2], strides: [2, 2], auto_pad: 'NOTSET' });
  const shape = b.op('Constant', [], {
    value: {
      type: 'tensor',
      value: {
        name: 'shape',
        dtype: 'int64',
        shape: [2],
        data: { kind: 'inline', bytes: new Uint8Array(new BigInt64Array([0n, -1n]).buffer) },
      },
    },
  });
  const flat = b.op('Reshape', [pool, shape]);
  b.output(b.op('Gemm', [flat, b.weight('fc', [2, 64]), b.int64('unused_i64', [1, 2, 3])], { transB: 1 }), 'float32', ['batch', 2]);
  return writeModelBytes(b.build());
}

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: number[] };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 8 }),
  }),
);

function mutate(base: Uint8Array, mutations: Mutation[]): Uint8Array {
  let bytes = Uint8Array.from(base);
  for (const m of mutations) {
    if (bytes.length === 0) break;
    const at = m.at % bytes.length;
    if (m.kind === 'flip') bytes[at]! ^= 1 << m.bit;
    else if (m.kind === 'set') bytes[at] = m.value;
    else if (m.kind === 'truncate') bytes = bytes.slice(0, at);
    else {
      const grown = new Uint8Array(bytes.length + m.bytes.length);
      grown.set(bytes.subarray(0, at));
      grown.set(m.bytes, at);
      grown.set(bytes.subarray(at), at + m.bytes.length);
      bytes = grown;
    }
  }
  return bytes;
}

describe('fuzzed model bytes', () => {
  const bases = [
    { name: 'written', bytes: baseModel() },
    { name: 'external', bytes: new Uint8Array(readFileSync(`${testdata}tiny-external.onnx`)) },
    { name: 'PyTorch attention', bytes: new Uint8Array(readFileSync(`${testdata}pytorch/attention-opset13.onnx`)) },
  ];
  for (const base of bases) {
    it(`every mutation of the ${base.name} model imports or fails with a MemoriaNovaError`, () => {
      assert.doesNotThrow(() => readModelBytes(base.bytes, testdata), 'the unmutated model imports');
      let imported = 0;
      fc.assert(
        fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (mutations) => {
          try {
            readModelBytes(mutate(base.bytes, mutations), testdata, 'fuzzed');
            imported++;
          } catch (error) {
            if (!(error instanceof MemoriaNovaError)) throw error;
            if (error.message.includes('\n')) throw new Error(`multi-line message: ${error.message}`);
          }
        }),
        { seed: 20261123, numRuns: 2000, includeErrorInReport: true },
      );
      // Many mutations hit names and values rather than structure: those must still import.
      assert.ok(imported > 100, `only ${imported} mutants imported`);
    });
  }
});
