import { GraphBuilder } from '../ir/builder.ts';
import type { Graph } from '../ir/graph.ts';
import { transformerEntry, type ResolvedTransformerOptions } from './entry.ts';
import { linear } from './layers.ts';
import { applyCausalMask, causalMask, Constants, embedding, tiedLmHead, tokenInput } from './transformer.ts';

/** Hugging Face Qwen/Qwen2-0.5B config.json. */
const CONFIG = {
  vocab: 151936,
  hidden: 896,
  intermediate: 4864,
  layers: 24,
  heads: 14,
  kvHeads: 2,
  maxPositions: 32768,
  ropeTheta: 1e6,
  eps: 1e-6,
};
const HEAD_DIM = CONFIG.hidden / CONFIG.heads;

/** RMSNorm from primitives: x / √(mean(x²) + ε) · gain. */
function rmsNorm(b: GraphBuilder, c: Constants, name: string, x: string): string {
  const gain = b.fill(`${name}.weight`, [CONFIG.hidden], 1);
  const meanSquare = b.op('ReduceMean', [b.op('Mul', [x, x], {}, `${name}.square`)], { axes: [-1], keepdims: 1 }, `${name}.mean`);
  const rms = b.op('Sqrt', [b.op('Add', [meanSquare, c.scalar(CONFIG.eps)], {}, `${name}.add_eps`)], {}, `${name}.sqrt`);
  return b.op('Mul', [b.op('Div', [x, rms], {}, `${name}.normalize`), gain], {}, name);
}

/** Rotary tables `[seqLen, headDim]`: cos and sin of position · θ^(−2i/d), the half-dimension frequencies repeated twice. */
function rotaryTables(b: GraphBuilder, seqLen: number): { cos: string; sin: string } {
  const half = HEAD_DIM / 2;
  const cos: number[] = [];
  const sin: number[] = [];
  for (let pos = 0; pos < seqLen; pos++) {
    for (let j = 0; j < HEAD_DIM; j++) {
      const angle = pos * CONFIG.ropeTheta ** (-(2 * (j % half)) / HEAD_DIM);
      cos.push(Math.cos(angle));
      sin.push(Math.sin(angle));
    }
  }
  return { cos: b.float32('rotary.cos', cos, [seqLen, HEAD_DIM]), sin: b.float32('rotary.sin', sin, [seqLen, HEAD_DIM]) };
}

/** x · cos + rotate_half(x) · sin, with rotate_half(x) = concat(−x[d/2:], x[:d/2]). */
function rotate(b: GraphBuilder, c: Constants, name: string, x: string, tables: { cos: string; sin: string }): string {
  const half = HEAD_DIM / 2;
  const first = b.op('Slice', [x, c.ints([0]), c.ints([half]), c.ints([3])], {}, `${name}.first_half`);
  const second = b.op('Slice', [x, c.ints([half]), c.ints([HEAD_DIM]), c.ints([3])], {}, `${name}.second_half`);
  const rotated = b.op('Concat', [b.op('Neg', [second], {}, `${name}.negate`), first], { axis: 3 }, `${name}.rotate_half`);
  const cosPart = b.op('Mul', [x, tables.cos], {}, `${name}.cos`);
  return b.op('Add', [cosPart, b.op('Mul', [rotated, tables.sin], {}, `${name}.sin`)], {}, name);
}

/** `[batch, seq, heads·d]` → `[batch, heads, seq, d]`. */
function heads(b: GraphBuilder, c: Constants, name: string, x: string, batch: number, seqLen: number, count: number): string {
  const reshaped = b.op('Reshape', [x, c.ints([batch, seqLen, count, HEAD_DIM])], {}, `${name}.reshape`);
  return b.op('Transpose', [reshaped], { perm: [0, 2, 1, 3] }, `${name}.transpose`);
}

/**
 * Grouped-query attention without copying keys and values: queries are viewed as
 * `[batch, kvHeads, heads/kvHeads, seq, d]` and keys/values as `[batch, kvHeads, 1, ·, ·]`, so MatMul's
 * broadcasting shares each key/value head among its group of query heads.
 */
function attention(
  b: GraphBuilder,
  c: Constants,
  p: string,
  x: string,
  o: ResolvedTransformerOptions,
  tables: { cos: string; sin: string },
  mask: string,
): string {
  const { batch, seqLen } = o;
  const group = CONFIG.heads / CONFIG.kvHeads;
  const kvWidth = CONFIG.kvHeads * HEAD_DIM;
  let q = heads(b, c, `${p}.q_heads`, linear(b, `${p}.q_proj`, x, CONFIG.hidden, CONFIG.hidden), batch, seqLen, CONFIG.heads);
  q = b.op(
    'Reshape',
    [rotate(b, c, `${p}.q_rotary`, q, tables), c.ints([batch, CONFIG.kvHeads, group, seqLen, HEAD_DIM])],
    {},
    `${p}.q_groups`,
  );
  let k = heads(b, c, `${p}.k_heads`, linear(b, `${p}.k_proj`, x, CONFIG.hidden, kvWidth), batch, seqLen, CONFIG.kvHeads);
  k = b.op('Transpose', [rotate(b, c, `${p}.k_rotary`, k, tables)], { perm: [0, 1, 3, 2] }, `${p}.k_transpose`);
  k = b.op('Unsqueeze', [k, c.ints([2])], {}, `${p}.k_groups`);
  let v = heads(b, c, `${p}.v_heads`, linear(b, `${p}.v_proj`, x, CONFIG.hidden, kvWidth), batch, seqLen, CONFIG.kvHeads);
  v = b.op('Unsqueeze', [v, c.ints([2])], {}, `${p}.v_groups`);
  let scores = b.op('MatMul', [q, k], {}, `${p}.scores`);
  scores = b.op('Mul', [scores, c.scalar(1 / Math.sqrt(HEAD_DIM))], {}, `${p}.scale`);
  scores = applyCausalMask(b, c, `${p}.causal_mask`, scores, mask);
  const probs = b.op('Softmax', [scores], { axis: -1 }, `${p}.softmax`);
  let context = b.op('MatMul', [probs, v], {}, `${p}.context`);
  context = b.op('Reshape', [context, c.ints([batch, CONFIG.heads, seqLen, HEAD_DIM])], {}, `${p}.context_heads`);
  context = b.op('Transpose', [context], { perm: [0, 2, 1, 3] }, `${p}.merge_heads.transpose`);
  context = b.op('Reshape', [context, c.ints([batch, seqLen, CONFIG.hidden])], {}, `${p}.merge_heads.reshape`);
  return linear(b, `${p}.o_proj`, context, CONFIG.hidden, CONFIG.hidden, { bias: false });
}

/** SwiGLU: down(silu(gate(x)) · up(x)), silu(g) = g · sigmoid(g). */
function mlp(b: GraphBuilder, p: string, x: string): string {
  const gate = linear(b, `${p}.gate_proj`, x, CONFIG.hidden, CONFIG.intermediate, { bias: false });
  const silu = b.op('Mul', [gate, b.op('Sigmoid', [gate], {}, `${p}.act_fn.sigmoid`)], {}, `${p}.act_fn`);
  const up = linear(b, `${p}.up_proj`, x, CONFIG.hidden, CONFIG.intermediate, { bias: false });
  const product = b.op('Mul', [silu, up], {}, `${p}.gate_up`);
  return linear(b, `${p}.down_proj`, product, CONFIG.intermediate, CONFIG.hidden, { bias: false });
}

export function buildQwen2(options: ResolvedTransformerOptions): Graph {
  const { batch, seqLen, layers } = options;
  const b = new GraphBuilder('qwen2-0.5b');
  const c = new Constants(b);
  const inputIds = tokenInput(b, 'input_ids', batch, seqLen);
  const embed = embedding(b, 'model.embed_tokens', inputIds, CONFIG.vocab, CONFIG.hidden);
  const tables = rotaryTables(b, seqLen);
  const mask = causalMask(b, seqLen);
  let x = embed.output;
  for (let i = 0; i < layers; i++) {
    const p = `model.layers.${i}`;
    const attended = attention(b, c, `${p}.self_attn`, rmsNorm(b, c, `${p}.input_layernorm`, x), options, tables, mask);
    x = b.op('Add', [x, attended], {}, `${p}.attn_residual`);
    const mixed = mlp(b, `${p}.mlp`, rmsNorm(b, c, `${p}.post_attention_layernorm`, x));
    x = b.op('Add', [x, mixed], {}, `${p}.mlp_residual`);
  }
  x = rmsNorm(b, c, 'model.norm', x);
  const logits = tiedLmHead(b, c, x, embed.table, { batch, seqLen, width: CONFIG.hidden, vocab: CONFIG.vocab });
  b.output(logits, 'float32', [batch, seqLen, CONFIG.vocab]);
  return b.build();
}

export const qwen2 = transformerEntry(
  {
    name: 'qwen2-0.5b',
    title: 'Qwen2-0.5B',
    source: 'Hugging Face Qwen/Qwen2-0.5B config.json (24 layers, hidden 896, 14 query / 2 KV heads, SwiGLU 4864, tied embeddings)',
    publishedParams: 494_032_768,
    layers: CONFIG.layers,
    maxSeqLen: CONFIG.maxPositions,
  },
  buildQwen2,
);
