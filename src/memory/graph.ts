import { fail } from '../errors.ts';
import { fusionGroups } from '../analysis/fusion.ts';
import type { MemoryBehaviour, Model } from '../ir/graph.ts';

/**
 * The part of a model the memory model needs: activation tensors (graph inputs and operator outputs) with
 * their sizes, and per operator which of them it reads and writes. Weights are left out; their total is
 * reported apart (docs/memory.md).
 */
export interface MemoryGraph {
  tensorNames: string[];
  tensorBytes: number[];
  /**
   * Operators in the model's order. `inputs`: distinct activation / graph-input tensor ids, weights excluded,
   * in the node's input order (so for an 'alias' op, inputs[0] is the tensor its output 0 is a view of).
   */
  ops: { name: string; inputs: number[]; outputs: number[]; behaviour: MemoryBehaviour }[];
  graphInputs: number[];
  graphOutputs: number[];
}

export interface MemoryGraphOptions {
  /**
   * Tensors between the members of a fusion group (analysis/fusion.ts: ONNX Runtime runs the group as one kernel)
   * take no memory: they are never written. Off by default, so peaks stay comparable with HMCOS.
   */
  fuse?: boolean;
}

/** Builds the memory graph of an analysed model; ops come in `model.ops` order. */
export function memoryGraphOf(model: Model, options: MemoryGraphOptions = {}): MemoryGraph {
  const tensorNames: string[] = [];
  const tensorBytes: number[] = [];
  const ids = new Map<string, number>();
  const add = (name: string): number => {
    const info = model.tensors.get(name)!;
    const id = tensorNames.length;
    ids.set(name, id);
    tensorNames.push(name);
    tensorBytes.push(info.bytes);
    return id;
  };
  const isActivation = (name: string): boolean => {
    const info = model.tensors.get(name);
    return info !== undefined && info.kind !== 'weight';
  };

  const graphInputs: number[] = [];
  for (const input of model.graph.inputs) {
    if (!isActivation(input.name) || ids.has(input.name)) continue;
    graphInputs.push(add(input.name));
  }
  // Ids for every operator output first, so a file whose node order is not topological still maps.
  const opOutputs = model.ops.map(({ node }) =>
    node.outputs
      .filter((name) => name !== '')
      .map((name) => {
        if (!model.tensors.has(name))
          fail(
            `operator '${node.name}' (${node.opType}) writes tensor '${name}', which the analysed model does not describe`,
            'invalid-model',
          );
        return add(name);
      }),
  );
  const ops: MemoryGraph['ops'] = model.ops.map((op, index) => {
    const { node } = op;
    const inputs: number[] = [];
    for (const name of node.inputs) {
      if (name === '' || !isActivation(name)) {
        if (name !== '' && !model.tensors.has(name) && !model.graph.initializers.has(name)) {
          fail(
            `operator '${node.name}' (${node.opType}) reads tensor '${name}', which the analysed model does not describe`,
            'invalid-model',
          );
        }
        continue;
      }
      const id = ids.get(name);
      if (id === undefined)
        fail(`operator '${node.name}' (${node.opType}) reads tensor '${name}', which no operator or graph input defines`, 'invalid-model');
      if (!inputs.includes(id)) inputs.push(id);
    }
    // A view needs an activation to view: an alias whose input 0 is a weight gets a buffer of its own.
    const first = node.inputs[0];
    const viewsActivation = first !== undefined && first !== '' && isActivation(first);
    const behaviour: MemoryBehaviour = op.memory === 'alias' && !viewsActivation ? 'normal' : op.memory;
    return { name: node.name, inputs, outputs: opOutputs[index]!, behaviour };
  });
  const graphOutputs: number[] = [];
  for (const output of model.graph.outputs) {
    const id = ids.get(output.name);
    if (id !== undefined && !graphOutputs.includes(id)) graphOutputs.push(id);
  }
  if (options.fuse === true) for (const name of fusedIntermediates(model)) tensorBytes[ids.get(name)!] = 0;
  return { tensorNames, tensorBytes, ops, graphInputs, graphOutputs };
}

/** Outputs of fusion-group members read only inside their group and not graph outputs. */
function fusedIntermediates(model: Model): string[] {
  const { groups, groupOf } = fusionGroups(model);
  const readers = new Map<string, number[]>();
  model.ops.forEach((op, i) => op.node.inputs.forEach((t) => t !== '' && readers.set(t, [...(readers.get(t) ?? []), i])));
  const outputs = new Set(model.graph.outputs.map((o) => o.name));
  return groups
    .filter((g) => g.ops.length > 1)
    .flatMap((g) =>
      g.ops.flatMap((i) =>
        model.ops[i]!.node.outputs.filter(
          (t) =>
            t !== '' && !outputs.has(t) && (readers.get(t) ?? []).length > 0 && readers.get(t)!.every((r) => groupOf[r] === groupOf[i]),
        ),
      ),
    );
}

/** Total bytes of the model's weights (initializers and folded constants), each counted once. */
export function weightBytesOf(model: Model): number {
  let total = 0;
  for (const info of model.tensors.values()) if (info.kind === 'weight') total += info.bytes;
  return total;
}
