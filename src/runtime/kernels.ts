import { fusionGroups, type FusionRule } from '../analysis/fusion.ts';
import type { Model } from '../ir/graph.ts';

/** Share of the optimised trace's kernel time that must map onto the model's operators for the attribution to be used. */
export const MIN_ATTRIBUTED_SHARE = 0.9;

/** A kernel of an onnxruntime trace: its least time over the runs (ms) and its operator type. */
export interface TracedKernel {
  ms: number;
  opType: string;
}

/** Fused kernels onnxruntime names by their type alone (`SkipLayerNormalization_token_12`), with the fusion rule making them. */
const FUSED_TYPES: Record<string, FusionRule> = { SkipLayerNormalization: 'skip-layer-norm', Gelu: 'gelu', BiasGelu: 'gelu' };

/**
 * Candidate model names for an optimised-graph node name: ONNX Runtime names a fused node after the operator it
 * replaces (`fused <name>` for FusedGemm, `<name>/MatMulAddFusion`), and the NCHWc transformer names a node after its
 * output tensor (`<output>_nchwc`).
 */
function candidateNames(node: string): string[] {
  const names = [node];
  let name = node;
  for (;;) {
    const next = name
      .replace(/^fused /, '')
      .replace(/\/[A-Za-z]*Fusion\/?$/, '')
      .replace(/_nchwc$/, '');
    if (next === name) return names;
    names.push((name = next));
  }
}

/**
 * Per operator, its kernel time in the optimised session (docs/runtime.md, "Profiling"): the time of every
 * optimised-graph node that maps onto an operator (by its name, or its output tensor's; a fused kernel named by its type alone, the k-th of its type in
 * execution order, onto the k-th group of its fusion rule that no named kernel maps onto, when their numbers agree) goes to that operator's
 * fusion group (`fusionGroups`), and is divided among the group's members in proportion to their kernel times with
 * optimisations off (equally when those are all 0). A group no optimised node maps onto was removed or folded into
 * another kernel by ONNX Runtime: 0. Nodes mapping onto no operator (layout reorders, reshapes around fused Gemms)
 * are left out. Returns null when the mapped nodes hold less than MIN_ATTRIBUTED_SHARE of the optimised kernel time.
 */
export function optimisedOpTimes(
  model: Model,
  unoptimised: ReadonlyMap<string, number>,
  optimised: ReadonlyMap<string, TracedKernel>,
): Map<string, number> | null {
  const byName = new Map<string, number>();
  model.ops.forEach((op, i) => {
    byName.set(op.node.name, i);
    for (const tensor of op.node.outputs) if (tensor !== '' && !byName.has(tensor)) byName.set(tensor, i);
  });
  const { groups, groupOf } = fusionGroups(model);
  const groupMs = new Float64Array(groups.length);
  let total = 0;
  let mapped = 0;
  const byType = new Map<FusionRule, number[]>();
  for (const [node, { ms, opType }] of optimised) {
    total += ms;
    const index = candidateNames(node)
      .map((name) => byName.get(name))
      .find((i) => i !== undefined);
    if (index !== undefined) {
      groupMs[groupOf[index]!]! += ms;
      mapped += ms;
    } else if (FUSED_TYPES[opType] !== undefined) {
      const list = byType.get(FUSED_TYPES[opType]) ?? [];
      list.push(ms);
      byType.set(FUSED_TYPES[opType], list);
    }
  }
  for (const [rule, times] of byType) {
    const unnamed = groups.flatMap((group, g) => (group.rule === rule && groupMs[g] === 0 ? [g] : []));
    if (unnamed.length !== times.length) continue;
    unnamed.forEach((g, k) => {
      groupMs[g] = times[k]!;
      mapped += times[k]!;
    });
  }
  if (total <= 0 || mapped < MIN_ATTRIBUTED_SHARE * total) return null;
  const times = new Map<string, number>();
  groups.forEach((group, g) => {
    const names = group.ops.map((i) => model.ops[i]!.node.name);
    const base = names.map((name) => unoptimised.get(name) ?? 0);
    const sum = base.reduce((a, b) => a + b, 0);
    names.forEach((name, k) => {
      // An operator the unoptimised trace missed and no optimised kernel covers is left to be timed alone.
      if (!unoptimised.has(name) && groupMs[g] === 0) return;
      times.set(name, sum > 0 ? (groupMs[g]! * base[k]!) / sum : groupMs[g]! / names.length);
    });
  });
  return times;
}
