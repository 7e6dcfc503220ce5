import * as ort from 'onnxruntime-node';
import { analyzeGraph } from '../analysis/analyze.ts';
import type { Attribute, Graph, Model, Node, Weight } from '../ir/graph.ts';
import { weightBytes } from '../ir/weights.ts';
import { writeModelBytes } from '../onnx/write.ts';
import type { OpDecision } from './types.ts';
import { boxShape, isEmpty } from './box.ts';
import { partitionContext, type PartitionContext } from './context.ts';
import { checkDecisions, planSlices } from './slices.ts';
import type { Box } from './types.ts';

/**
 * Test harness for region exactness: runs the whole graph with onnxruntime-node (every intermediate tensor
 * kept), then runs every device's slice of every operator on its own, fed only the crops of its input regions
 * (weights sliced, overrides applied), and returns the largest difference from the matching crop of the full
 * output. Float32 graphs only.
 */
export interface Tensor {
  data: Float32Array | BigInt64Array;
  shape: number[];
}

export function crop(tensor: Tensor, box: Box): Tensor {
  const shape = boxShape(box);
  const count = shape.reduce((a, b) => a * b, 1);
  const out = tensor.data instanceof Float32Array ? new Float32Array(count) : new BigInt64Array(count);
  const strides = tensor.shape.map((_, i) => tensor.shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const index = new Array<number>(shape.length).fill(0);
  for (let k = 0; k < count; k++) {
    let src = 0;
    for (let a = 0; a < shape.length; a++) src += (box[a]![0] + index[a]!) * strides[a]!;
    out[k] = tensor.data[src]!;
    for (let a = shape.length - 1; a >= 0; a--) {
      if (++index[a]! < shape[a]!) break;
      index[a] = 0;
    }
  }
  return { data: out, shape };
}

function weightTensor(weight: Weight): Tensor {
  const bytes = weightBytes(weight);
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  return { data: weight.dtype === 'int64' ? new BigInt64Array(buffer) : new Float32Array(buffer), shape: weight.shape };
}

function inlineWeight(name: string, tensor: Tensor): Weight {
  const data = tensor.data;
  return {
    name,
    dtype: data instanceof Float32Array ? 'float32' : 'int64',
    shape: tensor.shape,
    data: { kind: 'inline', bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) },
  };
}

async function runGraph(graph: Graph, feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  const session = await ort.InferenceSession.create(writeModelBytes(graph));
  const inputs: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(feeds)) inputs[name] = new ort.Tensor('float32', t.data as Float32Array, t.shape);
  const results = await session.run(inputs);
  const out: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(results)) out[name] = { data: t.data as Float32Array, shape: [...t.dims] };
  await session.release();
  return out;
}

export interface ExactnessReport {
  maxAbsError: number;
  slicesChecked: number;
}

/** Checks every slice of `decisions` on `graph` (inputs filled with `input(name, size)` values). */
export async function checkSliceExactness(
  graph: Graph,
  decisions: (ctx: PartitionContext) => OpDecision[],
  deviceCount: number,
  input: (size: number) => Float32Array,
): Promise<ExactnessReport & { model: Model }> {
  const model = analyzeGraph(graph);
  const ctx = partitionContext(
    model,
    model.ops.map((op) => op.node.name),
  );
  const plan = decisions(ctx);
  checkDecisions(ctx, plan, deviceCount);
  const slices = planSlices(ctx, plan, deviceCount);

  const feeds: Record<string, Tensor> = {};
  for (const i of model.graph.inputs) {
    const shape = model.tensors.get(i.name)!.shape;
    feeds[i.name] = { data: input(shape.reduce((a, b) => a * b, 1)), shape };
  }
  const everything: Graph = {
    ...model.graph,
    outputs: model.ops.flatMap((op) =>
      op.node.outputs.map((name) => ({ name, dtype: 'float32' as const, shape: model.tensors.get(name)!.shape })),
    ),
  };
  const full: Record<string, Tensor> = { ...feeds, ...(await runGraph(everything, feeds)) };
  for (const [name, w] of model.graph.initializers) full[name] = weightTensor(w);

  const sliced: Graph = { ...model.graph, inputs: [], outputs: [], nodes: [], initializers: new Map(), valueInfo: new Map() };
  const sliceFeeds: Record<string, Tensor> = {};
  const expected: Record<string, Tensor> = {};
  slices.ops.forEach((entry, p) => {
    const node = model.ops[entry.index]!.node;
    entry.slices.forEach((slice, d) => {
      if (slice === null || isEmpty(slice.outputs[0]!)) return;
      const tag = `p${p}_d${d}`;
      const inputs: string[] = [];
      node.inputs.forEach((tensor, j) => {
        const box = slice.inputs[j];
        if (tensor === '' || box == null) {
          if (node.opType !== 'Concat') inputs.push('');
          return;
        }
        const name = `${tag}_in${j}`;
        if (node.opType === 'Reshape' && j === 1) {
          const shape = BigInt64Array.from(slice.overrides!.shape!.map(BigInt));
          sliced.initializers.set(name, inlineWeight(name, { data: shape, shape: [shape.length] }));
        } else if (model.tensors.get(tensor)!.kind === 'weight') {
          sliced.initializers.set(name, inlineWeight(name, crop(full[tensor]!, box)));
        } else {
          sliceFeeds[name] = crop(full[tensor]!, box);
          sliced.inputs.push({ name, dtype: 'float32', shape: boxShape(box) });
        }
        inputs.push(name);
      });
      const attributes: Record<string, Attribute> = { ...node.attributes };
      if (slice.overrides?.pads !== undefined) {
        attributes.pads = { type: 'ints', value: slice.overrides.pads };
        delete attributes.auto_pad;
      }
      if (slice.overrides?.group !== undefined) attributes.group = { type: 'int', value: slice.overrides.group };
      const outputs = node.outputs.map((_, k) => `${tag}_out${k}`);
      const copy: Node = { ...node, name: tag, inputs, outputs, attributes };
      sliced.nodes.push(copy);
      outputs.forEach((name, k) => {
        sliced.outputs.push({ name, dtype: 'float32', shape: boxShape(slice.outputs[k]!) });
        expected[name] = crop(full[node.outputs[k]!]!, slice.outputs[k]!);
      });
    });
  });
  const got = await runGraph(sliced, sliceFeeds);
  let maxAbsError = 0;
  for (const [name, want] of Object.entries(expected)) {
    const have = got[name]!;
    if (have.shape.join() !== want.shape.join()) throw new Error(`slice ${name}: shape [${have.shape}] instead of [${want.shape}]`);
    for (let k = 0; k < want.data.length; k++)
      maxAbsError = Math.max(maxAbsError, Math.abs((have.data[k] as number) - (want.data[k] as number)));
  }
  return { maxAbsError, slicesChecked: Object.keys(expected).length, model };
}
