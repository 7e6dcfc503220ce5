import type { GraphBuilder } from '../ir/builder.ts';

/** Shared constants of one graph (scalars, shapes, axes), created once and reused by every layer. */
export class Constants {
  private readonly cache = new Map<string, string>();

  constructor(private readonly b: GraphBuilder) {}

  /** A float32 scalar initializer. */
  scalar(value: number): string {
    return this.cached(`f:${value}`, () => this.b.float32(`const_${value}`, [value], []));
  }

  /** An int64 vector initializer (shapes, axes, split sizes, slice bounds). */
  ints(values: number[]): string {
    return this.cached(`i:${values.join(',')}`, () => this.b.int64(`const_${values.join('_').replaceAll('-', 'm')}`, values));
  }

  private cached(key: string, make: () => string): string {
    let name = this.cache.get(key);
    if (name === undefined) {
      name = make();
      this.cache.set(key, name);
    }
    return name;
  }
}

/** Token ids `[batch, seqLen]`, int64, as tokenizers hand them over. */
export function tokenInput(b: GraphBuilder, name: string, batch: number, seqLen: number): string {
  return b.input(name, 'int64', [batch, seqLen]);
}

/** Position ids 0..seqLen-1 as an int64 initializer (the exporters' folded `arange`). */
export function positionIds(b: GraphBuilder, seqLen: number): string {
  return b.int64(
    'position_ids',
    Array.from({ length: seqLen }, (_, i) => i),
  );
}

/** An embedding table `[rows, width]` looked up with Gather. */
export function embedding(b: GraphBuilder, name: string, ids: string, rows: number, width: number): { table: string; output: string } {
  const table = b.weight(`${name}.weight`, [rows, width], { bound: 1 / Math.sqrt(width) });
  return { table, output: b.op('Gather', [table, ids], { axis: 0 }, name) };
}

/** LayerNormalization over the last axis with gain 1 and shift 0 (the usual initial state). */
export function layerNorm(b: GraphBuilder, name: string, x: string, width: number, epsilon: number): string {
  const gain = b.fill(`${name}.weight`, [width], 1);
  const shift = b.fill(`${name}.bias`, [width], 0);
  return b.op('LayerNormalization', [x, gain, shift], { axis: -1, epsilon }, name);
}

/** `[batch, seq, heads·headDim]` → `[batch, heads, seq, headDim]` (or `[batch, heads, headDim, seq]` when transposed). */
export function splitHeads(
  b: GraphBuilder,
  c: Constants,
  name: string,
  x: string,
  shape: { batch: number; seqLen: number; heads: number; headDim: number },
  transposed = false,
): string {
  const reshaped = b.op('Reshape', [x, c.ints([shape.batch, shape.seqLen, shape.heads, shape.headDim])], {}, `${name}.reshape`);
  return b.op('Transpose', [reshaped], { perm: transposed ? [0, 2, 3, 1] : [0, 2, 1, 3] }, `${name}.transpose`);
}

/** `[batch, heads, seq, headDim]` → `[batch, seq, heads·headDim]`. */
export function mergeHeads(
  b: GraphBuilder,
  c: Constants,
  name: string,
  x: string,
  shape: { batch: number; seqLen: number; width: number },
): string {
  const transposed = b.op('Transpose', [x], { perm: [0, 2, 1, 3] }, `${name}.transpose`);
  return b.op('Reshape', [transposed, c.ints([shape.batch, shape.seqLen, shape.width])], {}, `${name}.reshape`);
}

/**
 * A boolean `[seqLen, seqLen]` initializer, true where query i may attend to key j ≤ i. Scores outside it are
 * replaced with the lowest float32 through Where, as the Hugging Face exports do.
 */
export function causalMask(b: GraphBuilder, seqLen: number): string {
  const bytes = new Uint8Array(seqLen * seqLen);
  for (let i = 0; i < seqLen; i++) for (let j = 0; j <= i; j++) bytes[i * seqLen + j] = 1;
  return b.weight('causal_mask', [seqLen, seqLen], { dtype: 'bool', data: { kind: 'inline', bytes } });
}

export const FLOAT32_LOWEST = -3.4028234663852886e38;

export function applyCausalMask(b: GraphBuilder, c: Constants, name: string, scores: string, mask: string): string {
  return b.op('Where', [mask, scores, c.scalar(FLOAT32_LOWEST)], {}, name);
}

/**
 * A tied output projection: hidden `[batch, seq, width]` times the `[vocab, width]` embedding table transposed,
 * as one Gemm with transB on the flattened tokens, so the table is neither copied nor transposed at run time.
 */
export function tiedLmHead(
  b: GraphBuilder,
  c: Constants,
  x: string,
  table: string,
  shape: { batch: number; seqLen: number; width: number; vocab: number },
): string {
  const flat = b.op('Reshape', [x, c.ints([shape.batch * shape.seqLen, shape.width])], {}, 'lm_head.flatten');
  const logits = b.op('Gemm', [flat, table], { transB: 1 }, 'lm_head');
  return b.op('Reshape', [logits, c.ints([shape.batch, shape.seqLen, shape.vocab])], {}, 'lm_head.reshape');
}
