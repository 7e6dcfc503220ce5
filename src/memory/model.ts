import { fail } from '../errors.ts';
import type { MemoryGraph } from './graph.ts';
import { MemoryIndex, MemoryState } from './state.ts';

export interface MemoryOptions {
  /** Element-wise operators write output 0 into a same-size input buffer that dies at them (default true). */
  inplace?: boolean;
  /** Count the weights as a constant resident amount (default false: activations only). */
  includeWeights?: boolean;
}

export interface MemoryProfile {
  /** stepBytes[i]: live bytes while order[i] runs (its inputs and its freshly allocated outputs included). */
  stepBytes: number[];
  /** Max over the initial state and every step. */
  peakBytes: number;
  /** Index into the order of the first step reaching the peak; -1 when no step does (empty order). */
  peakStep: number;
  /** The weight bytes passed in (added to every number above and below only with includeWeights). */
  weightBytes: number;
  /** residentAfter[i]: live bytes once order[i] has run and the buffers that died at it are freed. */
  residentAfter: number[];
}

/** Checks that `order` runs every operator exactly once, each after the producers of its inputs. */
export function checkOrder(graph: MemoryGraph, order: number[], index = new MemoryIndex(graph)): void {
  const n = graph.ops.length;
  if (order.length !== n) fail(`the order has ${order.length} operators, the graph ${n}`, 'invalid-plan');
  const state = new MemoryState(index);
  for (const op of order) {
    if (!Number.isInteger(op) || op < 0 || op >= n) fail(`the order names operator #${op}, which does not exist`, 'invalid-plan');
    const name = graph.ops[op]!.name;
    if (state.done[op] === 1) fail(`the order runs operator '${name}' twice`, 'invalid-plan');
    if (!state.isReady(op)) fail(`the order runs operator '${name}' before the operators producing its inputs`, 'invalid-plan');
    state.apply(op);
  }
}

/** Live activation memory at every step of an operator order, under the rules of docs/memory.md. */
export function evaluateOrder(graph: MemoryGraph, order: number[], options: MemoryOptions = {}, weightBytes = 0): MemoryProfile {
  const index = new MemoryIndex(graph, options.inplace ?? true);
  checkOrder(graph, order, index);
  const constant = options.includeWeights === true ? weightBytes : 0;
  const state = new MemoryState(index);
  const stepBytes: number[] = [];
  const residentAfter: number[] = [];
  let peakBytes = index.initialResident + constant;
  let peakStep = -1;
  for (const op of order) {
    const step = state.apply(op) + constant;
    if (step > peakBytes || (peakStep === -1 && step >= peakBytes)) {
      peakBytes = step;
      peakStep = stepBytes.length;
    }
    stepBytes.push(step);
    residentAfter.push(state.resident + constant);
  }
  return { stepBytes, peakBytes, peakStep, weightBytes, residentAfter };
}
