import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MemoriaNovaError } from '../errors.ts';
import { GraphBuilder } from '../ir/builder.ts';
import { readModelBytes } from '../onnx/read.ts';
import { writeModelBytes } from '../onnx/write.ts';
import { analyzeGraph } from './analyze.ts';
import { encodeValues } from './values.ts';

/** A model with an exporter shape sub-graph, so mutations hit attributes, small constants and symbolic dims. */
function baseModel(): Uint8Array {
  const b = new GraphBuilder('fuzz_analysis', { opset: 13 });
  const x = b.input('x', 'float32', ['batch', 3, 8, 8]);
  const conv = b.op('Conv', [x, b.weight('w', [4, 3, 3, 3]), b.weight('bias', [4])], { pads: [1, 1, 1, 1], strides: [1, 1] });
  const pool = b.op('MaxPool', [b.op('Relu', [conv])], { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 0 });
  const index = b.weight('i0', [], { dtype: 'int64', data: { kind: 'inline', bytes: encodeValues('int64', [], [0]) } });
  const batch = b.op('Unsqueeze', [b.op('Gather', [b.op('Shape', [pool]), index]), b.int64('axes', [0])]);
  const target = b.op('Concat', [batch, b.int64('rest', [-1])], { axis: 0 });
  const flat = b.op('Reshape', [pool, target]);
  const logits = b.op('Gemm', [flat, b.weight('fc', [10, 64])], { transB: 1 });
  b.output(b.op('Softmax', [b.op('Slice', [logits, b.int64('s', [0]), b.int64('e', [5]), b.int64('a', [1])])], { axis: -1 }));
  return writeModelBytes(b.build());
}

const mutation = fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }), truncate: fc.boolean() });

test('property: mutated model bytes import and analyze, or fail with a clean error', () => {
  const base = baseModel();
  assert.doesNotThrow(() => analyzeGraph(readModelBytes(base, '.'), { bindings: { dims: { batch: 2 } } }));
  let analyzed = 0;
  fc.assert(
    fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (mutations) => {
      let bytes = Uint8Array.from(base);
      for (const m of mutations) {
        if (m.truncate && m.at % 7 === 0) bytes = bytes.slice(0, m.at % bytes.length);
        else if (bytes.length > 0) bytes[m.at % bytes.length] = m.value;
      }
      try {
        const model = analyzeGraph(readModelBytes(bytes, '.'), { bindings: { dims: { batch: 2 } } });
        analyzed++;
        for (const t of model.tensors.values())
          assert.ok(t.shape.every((d) => Number.isSafeInteger(d) && d >= 0) && Number.isSafeInteger(t.bytes));
      } catch (error) {
        if (!(error instanceof MemoriaNovaError)) throw error;
        assert.ok(!error.message.includes('\n'), 'error messages are one line');
      }
    }),
    { seed: 99, numRuns: 2000 },
  );
  assert.ok(analyzed > 100, `only ${analyzed} mutated models analyzed`);
});
