import type { GraphBuilder } from '../ir/builder.ts';

/** Spatial sizes given as one number (square) or [height, width]. */
export type Pair = number | [number, number];

function pair(value: Pair): [number, number] {
  return typeof value === 'number' ? [value, value] : value;
}

export interface ConvOptions {
  kernel: Pair;
  stride?: Pair;
  /** Symmetric padding per spatial axis. */
  pad?: Pair;
  groups?: number;
  bias?: boolean;
}

/** A 2-D convolution with a PyTorch-style weight `[out, in/groups, kh, kw]` named `<name>.weight`. */
export function conv(b: GraphBuilder, name: string, x: string, inChannels: number, outChannels: number, options: ConvOptions): string {
  const [kh, kw] = pair(options.kernel);
  const [sh, sw] = pair(options.stride ?? 1);
  const [ph, pw] = pair(options.pad ?? 0);
  const groups = options.groups ?? 1;
  const weight = b.weight(`${name}.weight`, [outChannels, inChannels / groups, kh, kw]);
  const inputs = [x, weight];
  if (options.bias ?? false) {
    inputs.push(b.weight(`${name}.bias`, [outChannels], { bound: 1 / Math.sqrt((inChannels / groups) * kh * kw) }));
  }
  const attributes: Record<string, number[] | number> = { kernel_shape: [kh, kw], strides: [sh, sw], pads: [ph, pw, ph, pw] };
  if (groups !== 1) attributes.group = groups;
  return b.op('Conv', inputs, attributes, name);
}

/** Inference-mode batch normalization with PyTorch's initial state: gain 1, shift 0, mean 0, variance 1. */
export function batchNorm(b: GraphBuilder, name: string, x: string, channels: number, epsilon: number): string {
  const scale = b.fill(`${name}.weight`, [channels], 1);
  const shift = b.fill(`${name}.bias`, [channels], 0);
  const mean = b.fill(`${name}.running_mean`, [channels], 0);
  const variance = b.fill(`${name}.running_var`, [channels], 1);
  return b.op('BatchNormalization', [x, scale, shift, mean, variance], { epsilon }, name);
}

export function relu(b: GraphBuilder, name: string, x: string): string {
  return b.op('Relu', [x], {}, name);
}

export interface PoolOptions {
  kernel: Pair;
  stride: Pair;
  pad?: Pair;
  ceil?: boolean;
}

function poolAttributes(options: PoolOptions): Record<string, number[] | number> {
  const [ph, pw] = pair(options.pad ?? 0);
  const attributes: Record<string, number[] | number> = {
    kernel_shape: pair(options.kernel),
    strides: pair(options.stride),
    pads: [ph, pw, ph, pw],
  };
  if (options.ceil ?? false) attributes.ceil_mode = 1;
  return attributes;
}

export function maxPool(b: GraphBuilder, name: string, x: string, options: PoolOptions): string {
  return b.op('MaxPool', [x], poolAttributes(options), name);
}

/** Average pooling that counts padded zeros, as PyTorch's `avg_pool2d` does by default. */
export function avgPool(b: GraphBuilder, name: string, x: string, options: PoolOptions): string {
  return b.op('AveragePool', [x], { ...poolAttributes(options), count_include_pad: 1 }, name);
}

/** Global average pooling then flattening to `[batch, channels]`: every classifier head starts this way. */
export function poolAndFlatten(b: GraphBuilder, x: string): string {
  const pooled = b.op('GlobalAveragePool', [x], {}, 'avgpool');
  return b.op('Flatten', [pooled], { axis: 1 }, 'flatten');
}

/** A fully connected layer as PyTorch exports it for 2-D input: Gemm with a `[out, in]` weight (transB). */
export function gemm(b: GraphBuilder, name: string, x: string, inFeatures: number, outFeatures: number): string {
  const weight = b.weight(`${name}.weight`, [outFeatures, inFeatures]);
  const bias = b.weight(`${name}.bias`, [outFeatures], { bound: 1 / Math.sqrt(inFeatures) });
  return b.op('Gemm', [x, weight, bias], { transB: 1 }, name);
}

/**
 * A linear layer over the last axis of an N-D tensor as transformer exporters emit it: MatMul with an
 * `[in, out]` weight, then Add of the bias when there is one.
 */
export function linear(
  b: GraphBuilder,
  name: string,
  x: string,
  inFeatures: number,
  outFeatures: number,
  options: { bias?: boolean } = {},
): string {
  const bound = 1 / Math.sqrt(inFeatures);
  const weight = b.weight(`${name}.weight`, [inFeatures, outFeatures], { bound });
  const product = b.op('MatMul', [x, weight], {}, `${name}.matmul`);
  if (!(options.bias ?? true)) return product;
  const bias = b.weight(`${name}.bias`, [outFeatures], { bound });
  return b.op('Add', [product, bias], {}, `${name}.add`);
}

/** `[batch, classes]` logits output of a classifier. */
export function classifierOutput(b: GraphBuilder, logits: string, batch: number, classes: number): void {
  b.output(logits, 'float32', [batch, classes]);
}
