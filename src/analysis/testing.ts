import type { DType } from '../ir/dtype.ts';
import type { AnalyzedOp, Model, TensorInfo } from '../ir/graph.ts';
import { GraphBuilder, type AttributeInput } from '../ir/builder.ts';
import { analyzeGraph } from './analyze.ts';
import { encodeValues } from './values.ts';

/** An operand of a one-node test graph: an activation input, or a constant when `value` is given. */
export interface Operand {
  shape: number[];
  dtype?: DType;
  value?: number[];
  /** A weight with unknown (random) values rather than a graph input. */
  weight?: boolean;
}

/** Analyzes a graph made of one node over the given operands; '' skips an optional input. */
export function analyzeOne(
  opType: string,
  operands: (Operand | '')[],
  attributes: Record<string, AttributeInput> = {},
  options: { opset?: number; outputs?: number } = {},
): { model: Model; op: AnalyzedOp; outputs: TensorInfo[] } {
  const b = new GraphBuilder('one', { opset: options.opset ?? 17 });
  const names = operands.map((operand, i) => {
    if (operand === '') return '';
    const dtype = operand.dtype ?? 'float32';
    if (operand.value !== undefined) {
      return b.weight(`c${i}`, operand.shape, {
        dtype,
        data: { kind: 'inline', bytes: encodeValues(dtype, operand.shape, operand.value) },
      });
    }
    return operand.weight === true ? b.weight(`w${i}`, operand.shape, { dtype }) : b.input(`x${i}`, dtype, operand.shape);
  });
  const outputs = b.node(opType, names, attributes, { outputs: options.outputs ?? 1 });
  for (const out of outputs) b.output(out);
  const model = analyzeGraph(b.build());
  const op = model.ops[0]!;
  return { model, op, outputs: outputs.map((o) => model.tensors.get(o)!) };
}

/** Output shapes of a one-node graph. */
export function shapesOf(
  opType: string,
  operands: (Operand | '')[],
  attributes: Record<string, AttributeInput> = {},
  options: { opset?: number; outputs?: number } = {},
): number[][] {
  return analyzeOne(opType, operands, attributes, options).outputs.map((t) => t.shape);
}
