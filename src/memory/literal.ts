import { fail } from '../errors.ts';
import type { MemoryBehaviour } from '../ir/graph.ts';
import type { MemoryGraph } from './graph.ts';

/** A memory graph written by tensor name: tests, docs examples and synthetic benchmark graphs use it. */
export interface MemoryGraphSpec {
  /** Tensor name → bytes. */
  tensors: Record<string, number>;
  /** [op name, input tensors, output tensors, behaviour (default 'normal')]. */
  ops: [string, string[], string[], MemoryBehaviour?][];
  inputs: string[];
  outputs: string[];
}

export function memoryGraphFromSpec(spec: MemoryGraphSpec): MemoryGraph {
  const tensorNames = Object.keys(spec.tensors);
  const ids = new Map(tensorNames.map((name, i) => [name, i]));
  const id = (name: string): number => ids.get(name) ?? fail(`tensor '${name}' has no size in the spec`);
  return {
    tensorNames,
    tensorBytes: tensorNames.map((name) => spec.tensors[name]!),
    ops: spec.ops.map(([name, inputs, outputs, behaviour]) => ({
      name,
      inputs: [...new Set(inputs.map(id))],
      outputs: outputs.map(id),
      behaviour: behaviour ?? 'normal',
    })),
    graphInputs: spec.inputs.map(id),
    graphOutputs: spec.outputs.map(id),
  };
}

/** Operator indices for operator names, for writing orders by name. */
export function orderByNames(graph: MemoryGraph, names: string[]): number[] {
  return names.map((name) => {
    const i = graph.ops.findIndex((op) => op.name === name);
    return i >= 0 ? i : fail(`no operator is named '${name}'`);
  });
}
