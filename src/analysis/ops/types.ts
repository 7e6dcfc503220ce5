import type { DType } from '../../ir/dtype.ts';
import type { MemoryBehaviour, Node } from '../../ir/graph.ts';
import type { Attrs } from './attrs.ts';

/** What shape inference knows about one tensor: static dtype and shape, and its values when small and constant. */
export interface TensorMeta {
  name: string;
  dtype: DType;
  shape: number[];
  /** Row-major element values (bool as 0/1), present only for constants small enough to fold. */
  value?: number[];
  /**
   * Row-major element values of a small integer tensor of which only some elements are known (the rest, undefined,
   * are computed at run time); absent when `value` is present or nothing is known. See src/analysis/partial.ts.
   */
  partial?: PartialValue;
}

/** Element values with unknown elements (undefined): computed at run time. */
export type PartialValue = (number | undefined)[];

/** The static type of one operator output. */
export interface OutputType {
  dtype: DType;
  shape: number[];
}

export interface OpContext {
  node: Node;
  opset: number;
  attrs: Attrs;
  /** A required input: fails naming the node when it is absent. */
  input(index: number): TensorMeta;
  /** An optional input: undefined when omitted or beyond the node's input list. */
  optional(index: number): TensorMeta | undefined;
  /** The constant values of an input whose values decide output shapes: fails with 'dynamic-shape' when unknown. */
  values(index: number): number[];
  /** Like `values`, but elements computed at run time are undefined; fails only when no element is known. */
  partialValues(index: number): PartialValue;
  /** Every present input, in order. */
  present(): TensorMeta[];
}

/**
 * One operator's definition: shape inference, cost, memory behaviour and, for the ops exporters use in shape
 * sub-graphs, evaluation on constant inputs (constant folding).
 */
export interface OpDef {
  infer(ctx: OpContext): OutputType[];
  /** FLOPs as defined in docs/costs.md; 0 when omitted (data movement). */
  flops?(ctx: OpContext, outputs: OutputType[]): number;
  memory?: MemoryBehaviour;
  /** Output values from constant inputs (every present input has `value`), row-major, one array per output. */
  evaluate?(ctx: OpContext, outputs: OutputType[]): number[][];
  /**
   * Inputs whose values (not only shapes) decide output shapes. Tools that feed test data (conformance) turn
   * graph inputs at these positions into constants, as exporters do.
   */
  valueInputs?: number[];
}

export type OpTable = Record<string, OpDef>;
