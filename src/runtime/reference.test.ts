import assert from 'node:assert/strict';
import { it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { analyzeGraph } from '../analysis/analyze.ts';
import { GraphBuilder } from '../ir/builder.ts';
import { modelInputs, wholeGraphSession, withInlineWeights } from './reference.ts';

it('a whole graph past the external-data threshold runs from a temporary file, with the same outputs as from bytes', async () => {
  const b = new GraphBuilder('external');
  const x = b.input('x', 'float32', [1, 3, 6, 6]);
  b.output(b.op('Relu', [b.op('Conv', [x, b.weight('w', [4, 3, 3, 3]), b.weight('bias', [4])], { pads: [1, 1, 1, 1] })]));
  const model = withInlineWeights(analyzeGraph(b.build()));
  const feeds = Object.fromEntries(modelInputs(model));
  const fromBytes = await wholeGraphSession(model.graph);
  const fromFile = await wholeGraphSession(model.graph, 0);
  try {
    const [a, c] = [await fromBytes.run(feeds), await fromFile.run(feeds)];
    const name = model.graph.outputs[0]!.name;
    assert.deepEqual((c[name] as ort.Tensor).data, (a[name] as ort.Tensor).data, 'same output');
  } finally {
    await fromBytes.release();
    await fromFile.release();
  }
});
