import type { Cluster } from '../cluster/types.ts';
import { fail } from '../errors.ts';
import type { DType } from '../ir/dtype.ts';
import type { Attribute, Model, Node, Weight } from '../ir/graph.ts';
import { boxVolume, hull, unionVolume } from '../partition/box.ts';
import type { PartitionContext } from '../partition/context.ts';
import type { Box, OpSlice, PlanSlices } from '../partition/types.ts';
import { communication, ROUTER, type Communication } from '../simulate/comm.ts';
import { sendPositions } from '../simulate/memory.ts';
import { deviceSteps } from '../simulate/steps.ts';
import { createSimulator } from '../simulate/simulate.ts';
import type { Plan } from '../plan/types.ts';
import { boxKey } from './regions.ts';

/**
 * What the coordinator compiles a plan into (docs/runtime.md, "Programs"): one program per worker and the router's
 * forwarding table. Both come from the very slices and messages the simulator uses (partition/slices.ts,
 * simulate/comm.ts), so the runtime moves exactly the pieces the latency model charges for.
 */

/** A node as sent to a worker: tensor-valued attributes refer to weight slices sent alongside. */
export interface WireNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: Record<string, WireAttribute>;
}

export type WireAttribute = Exclude<Attribute, { type: 'tensor' | 'tensors' | 'graph' | 'graphs' }> | { type: 'tensor'; weight: string };

/** A slice of a weight the worker needs, keyed `<weight>@<box>`; its bytes travel in a `weight` frame. */
export interface WeightSlice {
  key: string;
  dtype: DType;
  box: Box;
}

export interface ProgramOp {
  /** Position in the plan's order. */
  position: number;
  node: WireNode;
  slice: OpSlice;
  /** Weight slice key per node input (null: not a weight). */
  weights: Array<string | null>;
}

/** A tensor a step gathers before it runs: remote pieces (and the worker's own slice) into one region. */
export interface Gather {
  tensor: string;
  region: Box;
  pieces: Array<{ message: number; delivery: number; box: Box }>;
}

/** An upload after a step: the parts of a tensor the router cuts its deliveries from. */
export interface Upload {
  message: number;
  tensor: string;
  parts: Box[];
}

/**
 * A fused stretch of a worker's slices run as one ONNX sub-model: it starts where the worker must wait for
 * pieces from elsewhere and ends where a tensor leaves the worker, so nothing is communicated inside it.
 */
export interface Step {
  name: string;
  gathers: Gather[];
  ops: ProgramOp[];
  uploads: Upload[];
  /** Bytes fed into its sub-model plus bytes it hands out (simulate/steps.ts): what its overhead is charged on. */
  boundaryBytes: number;
  /**
   * A tile of a fused group (docs/fit.md, "Proof by the runtime"): each listed tensor the step computes is copied,
   * its `share` only, into the worker's whole `region` of it, allocated empty before the group's first tile runs.
   */
  assemble?: Assembly[];
  /** The memory model's peak of the tensors the step computes inside its sub-model (docs/memory.md, "Tiled steps"). */
  workingBytes?: number;
  /**
   * The step's result `output` is written over the worker's region of `input`, which its element-wise first operator
   * reads last (the memory model's in-place reuse, docs/memory.md): the two are one buffer.
   */
  inPlace?: { input: string; output: string };
}

export interface Assembly {
  tensor: string;
  region: Box;
  share: Box;
}

export interface WorkerProgram {
  device: number;
  name: string;
  /** dtype of every activation the program touches. */
  dtypes: Record<string, DType>;
  weights: WeightSlice[];
  steps: Step[];
  opset: number;
  opsetImports?: Record<string, number>;
}

export interface RouterMessage {
  tensor: string;
  /** Worker index, or ROUTER (-1) for a graph input. */
  source: number;
  parts: Box[];
  deliveries: Array<{ device: number; box: Box }>;
}

export interface RuntimeProgram {
  workers: WorkerProgram[];
  messages: RouterMessage[];
  inputs: Array<{ name: string; dtype: DType; shape: number[] }>;
  outputs: Array<{ name: string; dtype: DType; shape: number[] }>;
  slices: PlanSlices;
  /** The whole weight behind every weight slice key (the coordinator materialises and cuts it). */
  weightSources: Map<string, Weight>;
}

/** Compiles a plan for execution on the plan's devices. The plan must have been validated against the model. */
export function compileProgram(model: Model, plan: Plan, cluster: Cluster = plan.cluster): RuntimeProgram {
  const simulator = createSimulator(model, cluster, plan.order);
  const slices = simulator.slices(plan.ops);
  const comm = communication(simulator.context, slices, cluster);
  const messages: RouterMessage[] = comm.messages.map((m) => ({
    tensor: m.tensor,
    source: m.source,
    parts: uploadParts(m.deliveries.map((d) => d.box)),
    deliveries: m.deliveries.map((d) => ({ device: d.device, box: d.box })),
  }));
  const weightSources = new Map<string, Weight>();
  const workers = cluster.devices.map((device, d) =>
    workerProgram(simulator.context, slices, comm, messages, d, device.name, weightSources),
  );
  const info = (name: string) => {
    const t = model.tensors.get(name);
    if (t === undefined) fail(`model '${model.name}' has no tensor '${name}'`, 'invalid-model');
    return { name, dtype: t.dtype, shape: t.shape };
  };
  return {
    workers,
    messages,
    inputs: model.graph.inputs.map((i) => info(i.name)),
    outputs: model.graph.outputs.map((o) => info(o.name)),
    slices,
    weightSources,
  };
}

/**
 * What a holder uploads for one message: the hull of the delivered pieces when they fill it (a row band, a
 * channel block), else each distinct piece. The router cuts every delivery from the part containing it.
 */
function uploadParts(boxes: Box[]): Box[] {
  const distinct = [...new Map(boxes.map((b) => [boxKey(b), b])).values()];
  const whole = distinct.reduce<Box | null>((acc, b) => hull(acc, b), null)!;
  return unionVolume(distinct) === boxVolume(whole) ? [whole] : distinct;
}

export function wireNode(node: Node, addWeight: (weight: Weight, box: Box | null) => string): WireNode {
  const attributes: Record<string, WireAttribute> = {};
  for (const [key, attr] of Object.entries(node.attributes)) {
    if (attr.type === 'tensor') {
      // Tensor attributes (ConstantOfShape's value and the like) travel as weights of their own.
      attributes[key] = { type: 'tensor', weight: addWeight({ ...attr.value, name: `${node.name}::${key}` }, null) };
    } else if (attr.type === 'tensors' || attr.type === 'graph' || attr.type === 'graphs') {
      fail(
        `operator '${node.name}' (${node.opType}) has a ${attr.type} attribute: the runtime cannot run sub-graphs or tensor lists`,
        'unsupported-operator',
      );
    } else attributes[key] = attr;
  }
  return { name: node.name, opType: node.opType, domain: node.domain, inputs: [...node.inputs], outputs: [...node.outputs], attributes };
}

function workerProgram(
  ctx: PartitionContext,
  slices: PlanSlices,
  comm: Communication,
  messages: RouterMessage[],
  d: number,
  name: string,
  weightSources: Map<string, Weight>,
): WorkerProgram {
  const model = ctx.model;
  const weights = new Map<string, WeightSlice>();
  const dtypes: Record<string, DType> = {};
  const addWeight = (weight: Weight, box: Box | null): string => {
    const region = box ?? weight.shape.map((s) => [0, s] as [number, number]);
    const key = `${weight.name}@${boxKey(region)}`;
    if (!weights.has(key)) weights.set(key, { key, dtype: weight.dtype, box: region });
    weightSources.set(key, weight);
    return key;
  };
  const sends = sendPositions(comm, d);
  const assembled = comm.assembled[d]!;
  const steps: Step[] = deviceSteps(ctx, slices, comm, d, sends).map((deviceStep) => {
    const first = slices.ops[deviceStep.positions[0]!]!;
    const step: Step = {
      name: model.ops[first.index]!.node.name,
      gathers: [],
      ops: [],
      uploads: [],
      boundaryBytes: deviceStep.boundaryBytes,
    };
    for (const tensor of deviceStep.gathers) {
      const pieces: Gather['pieces'] = [];
      messages.forEach((m, id) => {
        if (m.tensor !== tensor) return;
        m.deliveries.forEach((delivery, k) => delivery.device === d && pieces.push({ message: id, delivery: k, box: delivery.box }));
      });
      step.gathers.push({ tensor, region: assembled.get(tensor)!, pieces });
    }
    // A sub-tile of a tiled stretch (docs/runtime.md, "Tiled stretches"): its own slices, its part of the sink copied
    // into the worker's region of it (allocated before the first sub-tile), the sink uploaded after the last.
    const stretch = deviceStep.tile === undefined ? undefined : slices.tiled![deviceStep.tile.stretch]!;
    const tiles = stretch?.devices[d] ?? [];
    const tile = deviceStep.tile === undefined ? undefined : tiles[deviceStep.tile.tile]!;
    if (stretch !== undefined) {
      const sink = model.ops[slices.ops[stretch.sink]!.index]!.node.outputs[0]!;
      step.name = `${step.name} .. ${slices.ops[stretch.sink]!.op} sub-tile ${deviceStep.tile!.tile + 1}/${tiles.length}`;
      step.assemble = [
        { tensor: sink, region: slices.ops[stretch.sink]!.slices[d]!.outputs[0]!, share: tile![tile!.length - 1]!.outputs[0]! },
      ];
    }
    const uploadsHere = stretch === undefined || deviceStep.tile!.tile === tiles.length - 1;
    for (const p of deviceStep.positions) {
      const entry = slices.ops[p]!;
      const slice = tile === undefined ? entry.slices[d]! : tile[stretch!.positions.indexOf(p)]!;
      const node = model.ops[entry.index]!.node;
      const weightKeys = node.inputs.map((tensor, j) => {
        const box = slice.inputs[j];
        if (tensor === '' || box == null || model.tensors.get(tensor)?.kind !== 'weight') return null;
        return addWeight(model.graph.initializers.get(tensor)!, box);
      });
      for (const t of [...node.inputs, ...node.outputs]) {
        const info = model.tensors.get(t);
        if (t !== '' && info !== undefined && info.kind !== 'weight') dtypes[t] = info.dtype;
      }
      step.ops.push({ position: p, node: wireNode(node, addWeight), slice, weights: weightKeys });
      if (sends.has(p) && uploadsHere) {
        messages.forEach((m, id) => {
          if (m.source === d && comm.messages[id]!.producer === p) step.uploads.push({ message: id, tensor: m.tensor, parts: m.parts });
        });
      }
    }
    return step;
  });
  const program: WorkerProgram = { device: d, name, dtypes, weights: [...weights.values()], steps, opset: model.graph.opset };
  if (model.graph.opsetImports !== undefined) program.opsetImports = model.graph.opsetImports;
  return program;
}

export { ROUTER };
