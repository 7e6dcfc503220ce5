import { fail, MemoriaNovaError } from '../errors.ts';
import { tensorBytes } from '../ir/dtype.ts';
import type { AnalyzedOp, Graph, Model, Node, TensorInfo, ValueInfo, Weight } from '../ir/graph.ts';
import { validateGraph } from '../ir/validate.ts';
import { bindDim, resolveInputShapes, unusedDimBindings, type ShapeBindings } from './bindings.ts';
import { makeContext } from './context.ts';
import { countFileTensors } from '../ir/params.ts';
import { constantToWeight, FOLD_BUDGET, FOLD_LIMIT, foldedWeight, foldValues } from './fold.ts';
import { opDefinition } from './ops/registry.ts';
import type { OpContext, OpDef, OutputType, TensorMeta } from './ops/types.ts';
import { describe, list } from './ops/util.ts';
import { inlineBranch } from './inline-if.ts';
import { propagatePartial } from './partial.ts';
import { weightValues } from './values.ts';

export type { ShapeBindings } from './bindings.ts';
export { bindingsFromFlags, parseDimBinding, parseInputBinding } from './bindings.ts';

export interface AnalyzeOptions {
  bindings?: ShapeBindings;
  /** Model name; defaults to the graph's. */
  name?: string;
}

/** A static shape the file declares for a tensor (value_info or graph output), dims bound; undefined if unknown. */
function declaredType(info: ValueInfo | undefined, bindings: ShapeBindings): OutputType | undefined {
  if (info?.shape === undefined) return undefined;
  const shape = info.shape.map((d) => bindDim(d, bindings));
  if (shape.some((d) => d === undefined)) return undefined;
  return { dtype: info.dtype, shape: shape as number[] };
}

class Analysis {
  readonly known = new Map<string, TensorMeta>();
  readonly weights = new Map<string, Weight>();
  readonly nodes: Node[] = [];
  readonly ops: AnalyzedOp[] = [];
  readonly warnings: string[] = [];
  private readonly graphOutputs: Set<string>;
  private readonly declared = new Map<string, ValueInfo>();
  /** Every node and tensor name of the graph so far: names of inlined If branches must not clash with them. */
  private readonly taken = new Set<string>();
  private foldedElements = 0;
  private budgetWarned = false;

  constructor(
    private readonly graph: Graph,
    private readonly bindings: ShapeBindings,
  ) {
    this.graphOutputs = new Set(graph.outputs.map((o) => o.name));
    for (const [name, info] of graph.valueInfo) this.declared.set(name, info);
    for (const output of graph.outputs) this.declared.set(output.name, output);
    for (const name of [...graph.inputs.map((i) => i.name), ...graph.initializers.keys()]) this.taken.add(name);
    for (const node of graph.nodes) for (const name of [node.name, ...node.outputs]) this.taken.add(name);
  }

  run(order: Node[]): void {
    for (const name of unusedDimBindings(this.graph, this.bindings)) {
      this.warnings.push(`--dim ${name}=${this.bindings.dims![name]} matches no dimension of the graph inputs; ignored`);
    }
    for (const [name, shape] of resolveInputShapes(this.graph, this.bindings)) {
      const input = this.graph.inputs.find((i) => i.name === name)!;
      this.known.set(name, { name, dtype: input.dtype, shape });
    }
    for (const weight of this.graph.initializers.values()) this.addWeight(weight);
    for (const node of order) this.step(node);
  }

  private step(node: Node): void {
    const standard = node.domain === '' || node.domain === 'ai.onnx';
    if (standard && node.opType === 'Constant') this.addWeight(constantToWeight(node));
    else if (!(standard && node.opType === 'If' && this.inlineIf(node))) this.visit(node);
  }

  /**
   * Replaces an If whose condition is known (a constant, or folded once the inputs are bound) by the branch it
   * takes; false when the condition is computed at run time or the branch is not in IR form (a built graph).
   */
  private inlineIf(node: Node): boolean {
    const condition = node.inputs[0] === undefined || node.inputs[0] === '' ? undefined : this.known.get(node.inputs[0]);
    if (condition?.value === undefined) return false;
    if (condition.value.length !== 1)
      fail(`If node '${node.name}': its condition '${condition.name}' has ${condition.value.length} elements, not one`, 'invalid-model');
    const key = condition.value[0] !== 0 ? 'then_branch' : 'else_branch';
    const attribute = node.attributes[key];
    if (attribute?.type !== 'graph' || attribute.body === undefined) return false;
    const branch = inlineBranch(node, key, attribute.body, this.taken);
    for (const name of branch.outer) {
      if (!this.known.has(name))
        fail(`the ${key} of If node '${node.name}' reads tensor '${name}', which is not defined before the If`, 'invalid-model');
    }
    for (const weight of branch.weights) this.addWeight(weight);
    for (const inner of branch.nodes) this.step(inner);
    return true;
  }

  private addWeight(weight: Weight): void {
    this.weights.set(weight.name, weight);
    const meta: TensorMeta = { name: weight.name, dtype: weight.dtype, shape: [...weight.shape] };
    const value = weightValues(weight, FOLD_LIMIT);
    if (value !== undefined) meta.value = value;
    this.known.set(weight.name, meta);
  }

  private visit(node: Node): void {
    const def = opDefinition(node);
    if (def === undefined) {
      this.keepOpaque(node);
      return;
    }
    const ctx = makeContext(node, this.graph.opset, this.known);
    const outputs = this.inferOutputs(node, def, ctx);
    let values = this.withinBudget(foldValues(def, ctx, outputs));
    const partial = values === undefined ? this.withinBudget(propagatePartial(def, ctx, outputs)) : undefined;
    // Partial values that turn out fully known (a Gather of the known elements) fold like any constant.
    if (partial?.every((p) => p.every((v) => v !== undefined))) values = partial as number[][];
    if (values !== undefined && !node.outputs.some((o) => this.graphOutputs.has(o))) {
      const folded = values;
      node.outputs.forEach((name, i) => {
        if (name !== '') this.addWeight(foldedWeight(name, outputs[i]!, folded[i]!));
      });
      return;
    }
    node.outputs.forEach((name, i) => {
      if (name === '') return;
      const meta: TensorMeta = { name, dtype: outputs[i]!.dtype, shape: outputs[i]!.shape };
      if (values?.[i] !== undefined) meta.value = values[i];
      else if (partial?.[i]?.some((v) => v !== undefined)) meta.partial = partial[i];
      this.known.set(name, meta);
      this.crossCheck(node, name, outputs[i]!);
    });
    this.nodes.push(node);
    this.ops.push({ node, cost: this.cost(node, def, ctx, outputs), memory: def.memory ?? 'normal', opaque: false });
  }

  /** Values within what is left of FOLD_BUDGET, else undefined (with one warning): a file cannot make folding allocate without limit. */
  private withinBudget<T extends unknown[][]>(values: T | undefined): T | undefined {
    if (values === undefined) return undefined;
    const count = values.reduce((sum, v) => sum + v.length, 0);
    if (this.foldedElements + count <= FOLD_BUDGET) {
      this.foldedElements += count;
      return values;
    }
    if (!this.budgetWarned) {
      this.warnings.push(`constant folding stopped at ${FOLD_BUDGET} computed elements; the remaining constant sub-graphs run at run time`);
      this.budgetWarned = true;
    }
    return undefined;
  }

  private inferOutputs(node: Node, def: OpDef, ctx: OpContext): OutputType[] {
    let outputs: OutputType[];
    try {
      outputs = def.infer(ctx);
    } catch (error) {
      // A shape that depends on run-time values can still come from the file's own declarations.
      const declared = node.outputs.map((o) => declaredType(this.declared.get(o), this.bindings));
      if (!(error instanceof MemoriaNovaError) || error.code !== 'dynamic-shape' || declared.some((d) => d === undefined)) throw error;
      this.warnings.push(`${describe(node)}: ${error.message}; using the output shapes the file declares`);
      return declared as OutputType[];
    }
    if (node.outputs.some((o, i) => o !== '' && i >= outputs.length)) {
      fail(`${describe(node)} has ${node.outputs.length} outputs, the operator defines ${outputs.length}`, 'invalid-model');
    }
    for (const output of outputs) {
      // Garbage attributes or inputs (a negative Reshape target, a rank-deficient weight) must not become shapes.
      if (!output.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
        fail(`${describe(node)}: the inputs and attributes give an invalid output shape ${list(output.shape)}`, 'invalid-model');
      }
      // Byte counts add up in doubles: past 2^53 they are no longer exact, and no device holds such a tensor.
      const bytes = tensorBytes(output.dtype, output.shape);
      if (!(bytes <= Number.MAX_SAFE_INTEGER))
        fail(
          `${describe(node)}: the inputs and attributes give an output of ${output.dtype}${list(output.shape)}, ${bytes.toExponential(2)} bytes, past 2^53 bytes`,
          'invalid-model',
        );
    }
    return outputs;
  }

  private keepOpaque(node: Node): void {
    const declared = node.outputs.map((o) => (o === '' ? undefined : declaredType(this.declared.get(o), this.bindings)));
    const missing = node.outputs.filter((o, i) => o !== '' && declared[i] === undefined);
    if (missing.length > 0 && node.opType === 'If' && node.domain === '') {
      fail(
        `If node '${node.name}': its condition '${node.inputs[0] ?? ''}' is computed at run time, so the branch it takes is not known, and its output shapes are not declared in the file (value_info)`,
        'dynamic-shape',
      );
    }
    if (missing.length > 0) {
      const domain = node.domain === '' ? '' : ` of domain '${node.domain}'`;
      fail(
        `unsupported operator '${node.opType}'${domain} (node '${node.name}'); its output shapes are not declared in the file (value_info), so it cannot be kept as an opaque operator`,
        'unsupported-operator',
      );
    }
    node.outputs.forEach((name, i) => {
      if (name !== '') this.known.set(name, { name, ...declared[i]! });
    });
    this.warnings.push(
      `operator '${node.opType}' (node '${node.name}') is not supported: kept as an opaque operator with the declared output shapes and 0 FLOPs`,
    );
    this.nodes.push(node);
    const outputs = declared.filter((d): d is OutputType => d !== undefined);
    this.ops.push({ node, cost: this.cost(node, undefined, undefined, outputs), memory: 'normal', opaque: true });
  }

  /** Inference wins over the file's declarations; a disagreement is worth a warning. */
  private crossCheck(node: Node, name: string, inferred: OutputType): void {
    const info = this.declared.get(name);
    if (info?.shape === undefined) return;
    const agrees =
      info.shape.length === inferred.shape.length &&
      info.shape.every((d, i) => {
        const bound = bindDim(d, this.bindings);
        return bound === undefined || bound === inferred.shape[i];
      });
    if (!agrees) {
      this.warnings.push(
        `tensor '${name}' of ${describe(node)}: the file declares ${list(info.shape)}, inference gives ${list(inferred.shape)}; using inference`,
      );
    }
  }

  private cost(node: Node, def: OpDef | undefined, ctx: OpContext | undefined, outputs: OutputType[]): AnalyzedOp['cost'] {
    let bytesRead = 0;
    let weightBytes = 0;
    for (const name of new Set(node.inputs)) {
      const meta = name === '' ? undefined : this.known.get(name);
      if (meta === undefined) continue;
      const bytes = tensorBytes(meta.dtype, meta.shape);
      bytesRead += bytes;
      if (this.weights.has(name)) weightBytes += bytes;
    }
    const bytesWritten = outputs.reduce((sum, o) => sum + tensorBytes(o.dtype, o.shape), 0);
    const flops = def?.flops !== undefined && ctx !== undefined ? def.flops(ctx, outputs) : 0;
    if (!Number.isFinite(flops) || flops < 0)
      fail(`${describe(node)}: the inputs and attributes give an invalid FLOP count`, 'invalid-model');
    return { flops, bytesRead, bytesWritten, weightBytes };
  }
}

/**
 * Constant folding, shape inference and costing in one forward pass in topological order (docs/costs.md).
 * The returned model's graph is the folded graph: Constant nodes and foldable shape sub-graphs became inline
 * initializers, and every remaining tensor has a static shape.
 */
export function analyzeGraph(graph: Graph, options: AnalyzeOptions = {}): Model {
  const bindings = options.bindings ?? {};
  const order = validateGraph(graph);
  const analysis = new Analysis(graph, bindings);
  analysis.run(order);

  const used = new Set<string>();
  for (const node of analysis.nodes) for (const input of node.inputs) used.add(input);
  for (const output of graph.outputs) used.add(output.name);
  const initializers = new Map([...analysis.weights].filter(([name]) => used.has(name)));

  const tensors = new Map<string, TensorInfo>();
  const add = (name: string, kind: TensorInfo['kind']) => {
    const meta = analysis.known.get(name)!;
    tensors.set(name, { name, dtype: meta.dtype, shape: meta.shape, bytes: tensorBytes(meta.dtype, meta.shape), kind });
  };
  for (const input of graph.inputs) add(input.name, 'input');
  for (const name of initializers.keys()) add(name, 'weight');
  for (const node of analysis.nodes) for (const output of node.outputs) if (output !== '') add(output, 'activation');

  const staticInfo = (name: string): ValueInfo => {
    const t = tensors.get(name)!;
    return { name, dtype: t.dtype, shape: [...t.shape] };
  };
  const outputNames = new Set(graph.outputs.map((o) => o.name));
  const folded: Graph = {
    ...graph,
    inputs: graph.inputs.map((i) => staticInfo(i.name)),
    outputs: graph.outputs.map((o) => staticInfo(o.name)),
    initializers,
    nodes: analysis.nodes,
    valueInfo: new Map(
      [...tensors.values()].filter((t) => t.kind === 'activation' && !outputNames.has(t.name)).map((t) => [t.name, staticInfo(t.name)]),
    ),
  };
  const fileTensors = countFileTensors(graph, (node) => constantToWeight(node).shape);
  return { name: options.name ?? graph.name, graph: folded, ops: analysis.ops, tensors, fileTensors, warnings: analysis.warnings };
}
