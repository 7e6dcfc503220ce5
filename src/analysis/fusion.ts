import type { Model } from '../ir/graph.ts';

/**
 * The operator fusions ONNX Runtime's graph optimisers apply at the level the runtime's sessions use (`all`,
 * docs/latency.md "Fusion"): each group runs as one kernel, so the tensors between its members are never written
 * to memory and read back. Rules, tried in this order, each operator in at most one group:
 *
 * - `conv`: Conv → BatchNormalization? → Add? → activation? along sole consumers (ConvBNFusion, ConvAddFusion and,
 *   on x86, the NCHWc transformer's Sum input for a residual Add, ConvActivationFusion);
 * - `matmul-add`: MatMul → Add(·, bias) → activation?, and Gemm → activation? (MatMulAddFusion, which also takes
 *   3-D inputs by reshaping them, GemmActivationFusion);
 * - `matmul-scale`: MatMul → Div or Mul by a scalar weight (MatMulScaleFusion);
 * - `gelu`: Add(x, bias)? → Div(x, c) → Erf → Add(·, c) → Mul(x, ·) → Mul(·, c) (GeluFusion, BiasGeluFusion);
 * - `skip-layer-norm`: Add(x, bias)? → Add(·, y) → LayerNormalization, the sum read by nothing else
 *   (SkipLayerNormFusion).
 *
 * The tanh approximation of GELU written with multiplications (x·x·x, as GPT-2 is exported) is not fused: ONNX
 * Runtime 1.30 runs it as nine kernels (docs/latency.md, "Fusion").
 * Inputs of Add and Mul match in either order; `c` and `bias` are weights (initializers or folded constants). A
 * member's output other than the group's last may not be read outside the group nor be a graph output.
 * Every other operator is a group of its own (rule `none`).
 */

export type FusionRule = 'conv' | 'matmul-add' | 'matmul-scale' | 'gelu' | 'skip-layer-norm' | 'none';

export interface FusionGroup {
  rule: FusionRule;
  /** Model op indices, producer first. */
  ops: number[];
  /**
   * Bytes the fused kernel moves: every distinct tensor its members read that no member produces (weights
   * included), plus every output of a member read outside the group or a graph output. An operator alone moves
   * its bytesRead + bytesWritten, an alias (Reshape, Flatten, …) nothing, a Gather or Slice its output's bytes
   * twice (read and written) plus its other inputs.
   */
  bytes: number;
}

export interface Fusion {
  groups: FusionGroup[];
  /** Per model op index, its group's index. */
  groupOf: number[];
}

/** Operators that read only the part of their first input they output. */
const PARTIAL_READERS = new Set(['Gather', 'GatherElements', 'GatherND', 'Slice']);

export const ACTIVATIONS = new Set(['Relu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'Clip', 'HardSigmoid']);

/** An input of a template node: the group's input x, a weight, an activation from outside, or template node k's output. */
type Ref = 'x' | 'w' | 'y' | number;
type Template = Array<{ type: string; inputs: Ref[] }>;

const GELU: Template = [
  { type: 'Div', inputs: ['x', 'w'] },
  { type: 'Erf', inputs: [0] },
  { type: 'Add', inputs: [1, 'w'] },
  { type: 'Mul', inputs: ['x', 2] },
  { type: 'Mul', inputs: [3, 'w'] },
];
const SKIP_LAYER_NORM: Template = [
  { type: 'Add', inputs: ['x', 'y'] },
  { type: 'LayerNormalization', inputs: [0, 'w', 'w'] },
];
const COMMUTATIVE = new Set(['Add', 'Mul']);

const cache = new WeakMap<Model, Fusion>();

/** The model's fusion groups (computed once per model). */
export function fusionGroups(model: Model): Fusion {
  let fusion = cache.get(model);
  if (fusion === undefined) {
    fusion = computeFusion(model);
    cache.set(model, fusion);
  }
  return fusion;
}

function computeFusion(model: Model): Fusion {
  const ops = model.ops;
  const consumers = new Map<string, number[]>();
  ops.forEach((op, i) =>
    new Set(op.node.inputs).forEach((t) => {
      if (t !== '') consumers.set(t, [...(consumers.get(t) ?? []), i]);
    }),
  );
  const graphOutputs = new Set(model.graph.outputs.map((o) => o.name));
  const isWeight = (t: string) => model.tensors.get(t)?.kind === 'weight';
  const taken = new Array<boolean>(ops.length).fill(false);
  const groupOf = new Array<number>(ops.length).fill(-1);
  const groups: FusionGroup[] = [];
  const typeOf = (i: number) => (ops[i]!.node.domain === '' || ops[i]!.node.domain === 'ai.onnx' ? ops[i]!.node.opType : '');
  const out = (i: number) => ops[i]!.node.outputs[0]!;
  /** The only consumer of op i's single output, if it has exactly one and the output is not a graph output. */
  const soleConsumer = (i: number): number | null => {
    if (ops[i]!.node.outputs.length !== 1 || graphOutputs.has(out(i))) return null;
    const c = consumers.get(out(i)) ?? [];
    return c.length === 1 && !taken[c[0]!] ? c[0]! : null;
  };
  const activationInputs = (i: number) => ops[i]!.node.inputs.filter((t) => t !== '' && !isWeight(t));

  const add = (rule: FusionRule, members: number[]) => {
    for (const i of members) {
      taken[i] = true;
      groupOf[i] = groups.length;
    }
    groups.push({ rule, ops: members, bytes: groupBytes(model, members, consumers, graphOutputs) });
  };

  // conv: Conv → BatchNormalization? → Add? → activation?
  for (let i = 0; i < ops.length; i++) {
    if (taken[i] || typeOf(i) !== 'Conv') continue;
    const members = [i];
    for (const stage of [
      (t: string, k: number) => t === 'BatchNormalization' && activationInputs(k).length === 1,
      (t: string) => t === 'Add',
      (t: string) => ACTIVATIONS.has(t),
    ]) {
      const next = soleConsumer(members[members.length - 1]!);
      if (next !== null && stage(typeOf(next), next)) members.push(next);
    }
    if (members.length > 1) add('conv', members);
  }

  // matmul-add: MatMul → Add(·, bias) → activation?, Gemm → activation?
  for (let i = 0; i < ops.length; i++) {
    const type = typeOf(i);
    if (taken[i] || (type !== 'MatMul' && type !== 'Gemm')) continue;
    const members = [i];
    if (type === 'MatMul') {
      const next = soleConsumer(i);
      if (next === null || typeOf(next) !== 'Add' || activationInputs(next).length !== 1) continue;
      members.push(next);
    }
    const act = soleConsumer(members[members.length - 1]!);
    if (act !== null && ACTIVATIONS.has(typeOf(act))) members.push(act);
    if (members.length > 1) add('matmul-add', members);
  }

  // matmul-scale: MatMul → Div or Mul by a scalar weight
  const isScalarWeight = (t: string) => isWeight(t) && (model.tensors.get(t)?.shape.reduce((a, d) => a * d, 1) ?? 0) === 1;
  for (let i = 0; i < ops.length; i++) {
    if (taken[i] || typeOf(i) !== 'MatMul') continue;
    const next = soleConsumer(i);
    if (next === null || (typeOf(next) !== 'Div' && typeOf(next) !== 'Mul')) continue;
    const [a, b] = ops[next]!.node.inputs;
    const scalar =
      typeOf(next) === 'Div'
        ? a === out(i) && isScalarWeight(b!)
        : (a === out(i) && isScalarWeight(b!)) || (b === out(i) && isScalarWeight(a!));
    if (scalar) add('matmul-scale', [i, next]);
  }

  /** Matches a template whose node 0 is op `start`; returns its members or null. */
  const matchTemplate = (template: Template, start: number): number[] | null => {
    let x: string | null = null;
    const matched: number[] = [];
    const fits = (k: number, i: number): boolean => {
      const node = ops[i]!.node;
      const want = template[k]!;
      if (taken[i] || matched.includes(i) || typeOf(i) !== want.type || node.inputs.length < want.inputs.length) return false;
      const orders =
        COMMUTATIVE.has(want.type) && want.inputs.length === 2 ? [want.inputs, [want.inputs[1]!, want.inputs[0]!]] : [want.inputs];
      return orders.some((refs) => {
        let bound = x;
        const ok = refs.every((ref, j) => {
          const t = node.inputs[j]!;
          if (ref === 'w') return isWeight(t);
          if (ref === 'y') return !isWeight(t);
          if (typeof ref === 'number') return t === out(matched[ref]!);
          if (isWeight(t)) return false;
          if (bound === null) bound = t;
          return t === bound;
        });
        if (ok) x = bound;
        return ok;
      });
    };
    if (!fits(0, start)) return null;
    matched.push(start);
    for (let k = 1; k < template.length; k++) {
      const next = (consumers.get(out(matched[k - 1]!)) ?? []).find((i) => fits(k, i));
      if (next === undefined) return null;
      matched.push(next);
    }
    // Intermediates stay inside the group.
    for (const i of matched.slice(0, -1)) {
      if (graphOutputs.has(out(i)) || (consumers.get(out(i)) ?? []).some((c) => !matched.includes(c))) return null;
    }
    // A bias Add producing x whose every reader is in the group joins it (BiasGelu, SkipLayerNorm with bias).
    const producer = x === null ? -1 : ops.findIndex((op) => op.node.outputs.includes(x!));
    if (
      producer >= 0 &&
      !taken[producer] &&
      typeOf(producer) === 'Add' &&
      activationInputs(producer).length === 1 &&
      !graphOutputs.has(x!) &&
      (consumers.get(x!) ?? []).every((c) => matched.includes(c))
    )
      return [producer, ...matched];
    return matched;
  };
  for (const [rule, template] of [
    ['gelu', GELU],
    ['skip-layer-norm', SKIP_LAYER_NORM],
  ] as const) {
    for (let i = 0; i < ops.length; i++) {
      const members = matchTemplate(template, i);
      if (members !== null) add(rule, members);
    }
  }

  for (let i = 0; i < ops.length; i++) if (!taken[i]) add('none', [i]);
  groups.forEach((g) => g.ops.sort((a, b) => a - b));
  return { groups, groupOf };
}

function groupBytes(model: Model, members: number[], consumers: Map<string, number[]>, graphOutputs: Set<string>): number {
  if (members.length === 1) {
    const op = model.ops[members[0]!]!;
    if (op.memory === 'alias') return 0;
    if (!PARTIAL_READERS.has(op.node.opType)) return op.cost.bytesRead + op.cost.bytesWritten;
    // Gather and Slice read the elements they output, not their whole data input (an embedding table).
    const rest = op.node.inputs.slice(1).reduce((n, t) => n + (model.tensors.get(t)?.bytes ?? 0), 0);
    return 2 * op.cost.bytesWritten + rest;
  }
  const inside = new Set(members);
  const produced = new Set(members.flatMap((i) => model.ops[i]!.node.outputs));
  const read = new Set(members.flatMap((i) => model.ops[i]!.node.inputs).filter((t) => t !== '' && !produced.has(t)));
  const written = [...produced].filter((t) => t !== '' && (graphOutputs.has(t) || (consumers.get(t) ?? []).some((c) => !inside.has(c))));
  const size = (t: string) => model.tensors.get(t)?.bytes ?? 0;
  return [...read].reduce((n, t) => n + size(t), 0) + written.reduce((n, t) => n + size(t), 0);
}
