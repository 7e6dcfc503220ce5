import type { Box } from '../partition/types.ts';
import type { Step, WorkerProgram } from './program.ts';

/** What a worker derives once from its program: per step, the regions it holds, what to keep and what to free. */
export interface StepPlan {
  /** Tensors held (with their regions) when the step's sub-model runs, after its gathers. */
  held: Map<string, Box>;
  /** Tensors the step computes that must leave its sub-model (read later on this worker, or uploaded). */
  keep: Set<string>;
  /** Tensors no later step reads: freed after the step's uploads are cut. */
  release: string[];
}

function reads(step: Step): Set<string> {
  const out = new Set<string>();
  for (const gather of step.gathers) out.add(gather.tensor);
  for (const op of step.ops) {
    op.node.inputs.forEach((tensor, j) => {
      if (tensor !== '' && op.weights[j] == null && op.slice.inputs[j] != null) out.add(tensor);
    });
  }
  return out;
}

export function planSteps(program: WorkerProgram): StepPlan[] {
  const steps = program.steps;
  const laterReads: Array<Set<string>> = new Array(steps.length);
  let acc = new Set<string>();
  for (let s = steps.length - 1; s >= 0; s--) {
    laterReads[s] = acc;
    acc = new Set([...acc, ...reads(steps[s]!)]);
  }
  const held = new Map<string, Box>();
  return steps.map((step, s) => {
    for (const gather of step.gathers) held.set(gather.tensor, gather.region);
    const before = new Map(held);
    const uploaded = new Set(step.uploads.map((u) => u.tensor));
    const keep = new Set<string>();
    for (const op of step.ops) {
      op.node.outputs.forEach((tensor, k) => {
        if (tensor === '') return;
        held.set(tensor, op.slice.outputs[k]!);
        if (laterReads[s]!.has(tensor) || uploaded.has(tensor)) keep.add(tensor);
      });
    }
    const release = [...held.keys()].filter((t) => !laterReads[s]!.has(t));
    for (const t of release) held.delete(t);
    return { held: before, keep, release };
  });
}
