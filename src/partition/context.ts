import { fail } from '../errors.ts';
import { elementCount } from '../ir/dtype.ts';
import type { Model } from '../ir/graph.ts';
import { boxVolume, fullBox } from './box.ts';
import { RecentMemo } from './memo.ts';
import { gridAxesOf, modelLayout, opGeometry, type Layout, type OpGeometry } from './geometry.ts';
import type { MemoRow } from './slices.ts';
import type { OpSpace } from './types.ts';

/** A reader of a tensor: the op's position in the order and which of its inputs. */
export interface TensorUse {
  position: number;
  input: number;
}

/**
 * Everything about a (model, order) pair that does not depend on a plan's decisions, computed once: per position
 * in the order, the operator's geometry, its split options, and who reads its outputs.
 */
export interface PartitionContext {
  model: Model;
  layout: Layout;
  /** Operator names in order. */
  order: string[];
  /** Position in the order → index into model.ops. */
  opIndex: number[];
  position: Map<string, number>;
  geometry: OpGeometry[];
  space: OpSpace[];
  /** Per position, per output: the operators reading it. */
  consumers: TensorUse[][][];
  /** Per position, per output: true when it is a graph output. */
  isGraphOutput: boolean[][];
  /** Per position, per input: the position and output producing it; null for graph inputs and weights. */
  producers: Array<Array<{ position: number; output: number } | null>>;
  /** Graph inputs (activations the router holds at the start) and the operators reading them. */
  graphInputUses: Map<string, TensorUse[]>;
  /** Per position: elements of the operator's output 0 (slices' shares of the operator are relative to it). */
  outputVolume: number[];
  /** Weights → how many operator inputs read them (a weight read once needs no hull over slices). */
  weightReaders: Map<string, number>;
  /** Bytes per element of every tensor the operators touch. */
  elementBytes: Map<string, number>;
  /**
   * Memo of slice rows, per position, keyed by the regions the devices compute: a search evaluates the same
   * regions again and again. Rows in it are shared, so slices are never mutated.
   */
  sliceMemo: Array<RecentMemo<number | string, MemoRow>>;
}

/** Slice rows remembered per operator: new ones, and ones used again (RecentMemo: up to twice as many). */
const NEW_ROWS_PER_OPERATOR = 2;
const ROWS_PER_OPERATOR = 64;

/**
 * Prepares the partition context. `order` must name every operator once, producers before consumers; errors
 * name the offending operator.
 */
export function partitionContext(model: Model, order: readonly string[]): PartitionContext {
  const byName = new Map(model.ops.map((op, i) => [op.node.name, i]));
  const position = new Map<string, number>();
  const opIndex = order.map((name, p) => {
    const index = byName.get(name);
    if (index === undefined) fail(`operator order names '${name}', which is not an operator of model '${model.name}'`, 'invalid-plan');
    if (position.has(name)) fail(`operator order names '${name}' twice`, 'invalid-plan');
    position.set(name, p);
    return index;
  });
  if (order.length !== model.ops.length) {
    const missing = model.ops.find((op) => !position.has(op.node.name))!;
    fail(`operator order misses '${missing.node.name}' (${order.length} of ${model.ops.length} operators listed)`, 'invalid-plan');
  }
  const producedAt = new Map<string, { position: number; output: number }>();
  opIndex.forEach((index, p) =>
    model.ops[index]!.node.outputs.forEach((t, k) => t !== '' && producedAt.set(t, { position: p, output: k })),
  );
  const graphOutputs = new Set(model.graph.outputs.map((o) => o.name));
  const consumers: TensorUse[][][] = opIndex.map((index) => model.ops[index]!.node.outputs.map(() => []));
  const producers = opIndex.map((index, p) =>
    model.ops[index]!.node.inputs.map((t, input) => {
      const source = producedAt.get(t);
      if (source === undefined) return null;
      if (source.position >= p)
        fail(`operator order runs '${order[p]}' before '${order[source.position]}', which produces its input '${t}'`, 'invalid-plan');
      consumers[source.position]![source.output]!.push({ position: p, input });
      return source;
    }),
  );
  const graphInputUses = new Map<string, TensorUse[]>();
  opIndex.forEach((index, p) =>
    model.ops[index]!.node.inputs.forEach((t, input) => {
      if (model.tensors.get(t)?.kind !== 'input') return;
      const uses = graphInputUses.get(t) ?? [];
      if (!uses.some((u) => u.position === p)) uses.push({ position: p, input });
      graphInputUses.set(t, uses);
    }),
  );
  const layout = modelLayout(model);
  const geometry = opIndex.map((index) => opGeometry(model, model.ops[index]!, layout));
  return {
    model,
    layout,
    order: [...order],
    opIndex,
    position,
    geometry,
    space: opIndex.map((index, p) => ({
      op: order[p]!,
      index,
      opType: model.ops[index]!.node.opType,
      options: geometry[p]!.options,
      grid: gridAxesOf(layout, geometry[p]!),
    })),
    consumers,
    isGraphOutput: opIndex.map((index) => model.ops[index]!.node.outputs.map((t) => graphOutputs.has(t))),
    producers,
    graphInputUses,
    weightReaders: countWeightReaders(model),
    outputVolume: geometry.map((g) => boxVolume(fullBox(g.outputShapes[0]!))),
    elementBytes: new Map(
      [...model.tensors.values()].map((t) => [t.name, elementCount(t.shape) === 0 ? 0 : t.bytes / elementCount(t.shape)]),
    ),
    sliceMemo: opIndex.map(() => new RecentMemo(NEW_ROWS_PER_OPERATOR, ROWS_PER_OPERATOR)),
  };
}

function countWeightReaders(model: Model): Map<string, number> {
  const readers = new Map<string, number>();
  for (const { node } of model.ops) {
    for (const name of node.inputs) if (model.graph.initializers.has(name)) readers.set(name, (readers.get(name) ?? 0) + 1);
  }
  return readers;
}
