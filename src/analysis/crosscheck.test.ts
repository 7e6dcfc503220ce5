import { test } from 'node:test';
import assert from 'node:assert/strict';
import { zooEntry } from '../zoo/index.ts';
import { analyzeGraph } from './analyze.ts';
import { crossCheckShapes, findPythonOnnx } from './crosscheck.ts';

const python = findPythonOnnx();

test(
  'our activation shapes equal ONNX shape inference on a CNN and a transformer',
  { skip: python === undefined ? 'no python3 with the onnx package' : false },
  () => {
    for (const [name, options] of [
      ['resnet50', {}],
      ['gpt2', { layers: 1, seqLen: 16 }],
    ] as const) {
      const graph = zooEntry(name).build(options);
      const { compared, differences } = crossCheckShapes(graph, analyzeGraph(graph), python!);
      assert.deepEqual(differences, [], name);
      assert.ok(compared > 30, `${name}: only ${compared} tensors compared`);
    }
  },
);
