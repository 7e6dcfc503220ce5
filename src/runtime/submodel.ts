import { fail } from '../errors.ts';
import type { DType } from '../ir/dtype.ts';
import { GraphBuilder } from '../ir/builder.ts';
import type { Attribute, Graph, Weight } from '../ir/graph.ts';
import { boxShape, sameBox } from '../partition/box.ts';
import type { Box } from '../partition/types.ts';
import type * as ort from 'onnxruntime-node';
import type { ProgramOp, Step, WorkerProgram } from './program.ts';
import { boxKey, elementSize, regionBytes } from './regions.ts';
import { toOrtTensor } from './tensors.ts';

/** A weight slice as the worker holds it: its shape (the box's extents), dtype and bytes. */
export interface HeldWeight {
  dtype: DType;
  shape: number[];
  bytes: Uint8Array;
}

/** One step's ONNX sub-model and how its graph inputs and outputs map to the worker's tensors. */
export interface StepModel {
  graph: Graph;
  /** Graph input name → tensor it is fed from, and the region that tensor must hold. */
  feeds: Array<{ input: string; tensor: string; box: Box }>;
  /** Graph output name → tensor it becomes, and the region it holds. */
  results: Array<{ output: string; tensor: string; box: Box }>;
}

/**
 * Builds a step's sub-model (docs/runtime.md, "Sub-models"): each operator slice becomes its node with the slice's
 * attribute overrides (pads at region borders, Reshape targets, grouped-convolution groups), weight
 * slices become initializers, and where a slice reads only part of a held region a Slice node cuts it out.
 * `held` maps every tensor the worker holds before the step to its region; `keep` lists the step's tensors that
 * must leave the sub-model (read by later steps or uploaded).
 */
export function buildStepModel(
  program: WorkerProgram,
  step: Step,
  held: ReadonlyMap<string, Box>,
  weights: ReadonlyMap<string, HeldWeight>,
  keep: ReadonlySet<string>,
): StepModel {
  const b = new GraphBuilder(`${program.name}:${step.name}`, { opset: program.opset });
  const graph = b.build();
  if (program.opsetImports !== undefined) graph.opsetImports = program.opsetImports;
  const local = new Map<string, { name: string; box: Box }>();
  const feeds: StepModel['feeds'] = [];
  const cuts = new Map<string, string>();
  const initializers = new Map<string, string>();
  const dtypeOf = (tensor: string): DType =>
    program.dtypes[tensor] ?? fail(`worker program has no dtype for tensor '${tensor}'`, 'invalid-plan');

  const source = (tensor: string): { name: string; box: Box } => {
    const known = local.get(tensor);
    if (known !== undefined) return known;
    const box = held.get(tensor);
    if (box === undefined)
      fail(
        `worker '${program.name}', step '${step.name}': tensor '${tensor}' is neither held nor computed before it is read`,
        'invalid-plan',
      );
    const name = b.input(tensor, dtypeOf(tensor), boxShape(box));
    feeds.push({ input: name, tensor, box });
    const entry = { name, box };
    local.set(tensor, entry);
    return entry;
  };
  const cut = (tensor: string, box: Box): string => {
    const from = source(tensor);
    if (sameBox(from.box, box)) return from.name;
    const key = `${tensor}@${boxKey(box)}`;
    let name = cuts.get(key);
    if (name === undefined) {
      name = sliceNode(b, from.name, from.box, box, `cut_${tensor}`);
      cuts.set(key, name);
    }
    return name;
  };
  const initializer = (key: string): string => {
    let name = initializers.get(key);
    if (name === undefined) {
      const w = weights.get(key) ?? fail(`worker '${program.name}' did not receive weight slice '${key}'`, 'invalid-plan');
      name = b.weight(key, w.shape, { dtype: w.dtype, data: { kind: 'inline', bytes: w.bytes } });
      initializers.set(key, name);
    }
    return name;
  };

  for (const op of step.ops) addOp(b, op, { cut, initializer, local, dtypeOf, weights });

  const results: StepModel['results'] = [];
  for (const op of step.ops) {
    for (const tensor of op.node.outputs) {
      if (tensor === '' || !keep.has(tensor)) continue;
      const produced = local.get(tensor)!;
      b.output(produced.name, dtypeOf(tensor), boxShape(produced.box));
      results.push({ output: produced.name, tensor, box: produced.box });
    }
  }
  return { graph, feeds, results };
}

interface OpContext {
  cut: (tensor: string, box: Box) => string;
  initializer: (key: string) => string;
  local: Map<string, { name: string; box: Box }>;
  dtypeOf: (tensor: string) => DType;
  weights: ReadonlyMap<string, HeldWeight>;
}

function addOp(b: GraphBuilder, op: ProgramOp, ctx: OpContext): void {
  const { node, slice } = op;
  const opType = node.opType;
  // Every tensor the sub-model holds is inline bytes the coordinator sent: a tensor attribute is a weight slice
  // reference, so nothing in a program can make the worker read a file.
  const attributes: Record<string, Attribute> = {};
  for (const [key, attr] of Object.entries(node.attributes)) {
    if (attr.type === 'tensor') {
      const w =
        ctx.weights.get(attr.weight) ??
        fail(`weight slice '${attr.weight}' of attribute '${key}' of '${node.name}' is missing`, 'invalid-plan');
      const value: Weight = { name: `${node.name}.${key}`, dtype: w.dtype, shape: w.shape, data: { kind: 'inline', bytes: w.bytes } };
      attributes[key] = { type: 'tensor', value };
    } else attributes[key] = attr;
  }
  const inputs: string[] = [];
  const overrides = slice.overrides;
  node.inputs.forEach((tensor, j) => {
    if (tensor === '') return inputs.push('');
    // Reshape's target shape is replaced by the slice's own.
    if (j === 1 && overrides?.shape !== undefined) return inputs.push(b.int64(`${node.name}.shape`, overrides.shape));
    const key = op.weights[j];
    if (key != null) return inputs.push(ctx.initializer(key));
    const box = slice.inputs[j];
    if (box == null) {
      if (opType === 'Concat') return;
      fail(`operator '${node.name}' (${opType}): its slice on this worker has no region for input '${tensor}'`, 'invalid-plan');
    }
    inputs.push(ctx.cut(tensor, box));
  });
  if (overrides?.pads !== undefined) {
    attributes.pads = { type: 'ints', value: overrides.pads };
    delete attributes.auto_pad;
  }
  if (overrides?.group !== undefined) attributes.group = { type: 'int', value: overrides.group };
  const outputs = b.node(opType, inputs, attributes, { name: node.name, outputs: node.outputs.length, domain: node.domain });
  const built = b.build().nodes[b.build().nodes.length - 1]!;
  node.outputs.forEach((tensor, k) => {
    if (tensor === '') {
      built.outputs[k] = '';
      return;
    }
    ctx.local.set(tensor, { name: outputs[k]!, box: slice.outputs[k]! });
  });
}

/** A Slice node cutting `box` out of a tensor that holds region `from` (both in full-tensor coordinates). */
function sliceNode(b: GraphBuilder, input: string, from: Box, box: Box, name: string): string {
  const axes: number[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  box.forEach(([s, e], a) => {
    const [fs, fe] = from[a]!;
    if (s === fs && e === fe) return;
    axes.push(a);
    starts.push(s - fs);
    ends.push(e - fs);
  });
  return b.op('Slice', [input, b.int64(`${name}.starts`, starts), b.int64(`${name}.ends`, ends), b.int64(`${name}.axes`, axes)], {}, name);
}

/**
 * Inputs for timing a step's sub-model alone: float32 inputs get sin(i) (values in [-1, 1]), every other input
 * stays 0 (valid indices for every gather).
 */
export function syntheticFeeds(step: StepModel, dtypes: Readonly<Record<string, DType>>): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const feed of step.feeds) {
    const dtype = dtypes[feed.tensor]!;
    const bytes = new Uint8Array(regionBytes(feed.box, elementSize(dtype, feed.tensor)));
    if (dtype === 'float32') new Float32Array(bytes.buffer).forEach((_, i, a) => (a[i] = Math.sin(i)));
    feeds[feed.input] = toOrtTensor(dtype, bytes, boxShape(feed.box), feed.tensor);
  }
  return feeds;
}
