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

/**
 * Tensors a step needs held: what it gathers, reads from before it (not what its own operators computed first) and
 * assembles (a tile's whole exit must outlive every tile before the last).
 */
function reads(step: Step): Set<string> {
  const out = new Set<string>();
  const computed = new Set<string>();
  for (const gather of step.gathers) out.add(gather.tensor);
  for (const op of step.ops) {
    op.node.inputs.forEach((tensor, j) => {
      if (tensor !== '' && op.weights[j] == null && op.slice.inputs[j] != null && !computed.has(tensor)) out.add(tensor);
    });
    for (const tensor of op.node.outputs) computed.add(tensor);
  }
  for (const a of step.assemble ?? []) out.add(a.tensor);
  return out;
}

export function planSteps(program: WorkerProgram): StepPlan[] {
  const steps = program.steps;
  const laterReads: Array<Set<string>> = new Array(steps.length);
  let acc = new Set<string>();
  for (let s = steps.length - 1; s >= 0; s--) {
    laterReads[s] = acc;
    // A step computing a tensor again (the next tile of a fused group) ends the life of the one before.
    const computed = new Set(steps[s]!.ops.flatMap((op) => op.node.outputs));
    acc = new Set([...[...acc].filter((t) => !computed.has(t)), ...reads(steps[s]!)]);
  }
  const held = new Map<string, Box>();
  return steps.map((step, s) => {
    for (const gather of step.gathers) held.set(gather.tensor, gather.region);
    const before = new Map(held);
    const uploaded = new Set(step.uploads.map((u) => u.tensor));
    const assembled = new Map((step.assemble ?? []).map((a) => [a.tensor, a.region]));
    const keep = new Set<string>();
    for (const op of step.ops) {
      op.node.outputs.forEach((tensor, k) => {
        if (tensor === '') return;
        held.set(tensor, assembled.get(tensor) ?? op.slice.outputs[k]!);
        if (laterReads[s]!.has(tensor) || uploaded.has(tensor) || assembled.has(tensor)) keep.add(tensor);
      });
    }
    const release = [...held.keys()].filter((t) => !laterReads[s]!.has(t));
    for (const t of release) held.delete(t);
    return { held: before, keep, release };
  });
}
