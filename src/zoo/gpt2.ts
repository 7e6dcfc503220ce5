import { GraphBuilder } from '../ir/builder.ts';
import type { Graph } from '../ir/graph.ts';
import { transformerEntry, type ResolvedTransformerOptions } from './entry.ts';
import { linear } from './layers.ts';
import {
  applyCausalMask,
  causalMask,
  Constants,
  embedding,
  layerNorm,
  mergeHeads,
  positionIds,
  splitHeads,
  tiedLmHead,
  tokenInput,
} from './transformer.ts';

/** Hugging Face gpt2 (small) config.json. */
const CONFIG = { vocab: 50257, positions: 1024, hidden: 768, layers: 12, heads: 12, eps: 1e-5 };

/** GPT-2's gelu_new (tanh approximation): ½x · (1 + tanh(√(2/π) · (x + 0.044715 x³))). */
function geluTanh(b: GraphBuilder, c: Constants, name: string, x: string): string {
  const cube = b.op('Mul', [b.op('Mul', [x, x], {}, `${name}.square`), x], {}, `${name}.cube`);
  const inner = b.op('Add', [x, b.op('Mul', [cube, c.scalar(0.044715)], {}, `${name}.cube_scale`)], {}, `${name}.inner`);
  const t = b.op('Tanh', [b.op('Mul', [inner, c.scalar(Math.sqrt(2 / Math.PI))], {}, `${name}.scale`)], {}, `${name}.tanh`);
  const y = b.op('Mul', [x, b.op('Add', [t, c.scalar(1)], {}, `${name}.add`)], {}, `${name}.mul`);
  return b.op('Mul', [y, c.scalar(0.5)], {}, `${name}.half`);
}

export function buildGpt2({ batch, seqLen, layers }: ResolvedTransformerOptions): Graph {
  const b = new GraphBuilder('gpt2');
  const c = new Constants(b);
  const { hidden, heads } = CONFIG;
  const headDim = hidden / heads;
  const inputIds = tokenInput(b, 'input_ids', batch, seqLen);
  const wte = embedding(b, 'wte', inputIds, CONFIG.vocab, hidden);
  const wpe = embedding(b, 'wpe', positionIds(b, seqLen), CONFIG.positions, hidden);
  let x = b.op('Add', [wte.output, wpe.output], {}, 'embeddings.add');
  const mask = causalMask(b, seqLen);

  const shape = { batch, seqLen, heads, headDim };
  for (let i = 0; i < layers; i++) {
    const p = `h.${i}`;
    const qkv = linear(b, `${p}.attn.c_attn`, layerNorm(b, `${p}.ln_1`, x, hidden, CONFIG.eps), hidden, 3 * hidden);
    const [query, key, value] = b.node(
      'Split',
      [qkv, c.ints([hidden, hidden, hidden])],
      { axis: 2 },
      { name: `${p}.attn.split`, outputs: 3 },
    );
    const q = splitHeads(b, c, `${p}.attn.query_heads`, query!, shape);
    const k = splitHeads(b, c, `${p}.attn.key_heads`, key!, shape, true);
    const v = splitHeads(b, c, `${p}.attn.value_heads`, value!, shape);
    let scores = b.op('MatMul', [q, k], {}, `${p}.attn.scores`);
    scores = b.op('Div', [scores, c.scalar(Math.sqrt(headDim))], {}, `${p}.attn.scale`);
    scores = applyCausalMask(b, c, `${p}.attn.causal_mask`, scores, mask);
    const probs = b.op('Softmax', [scores], { axis: -1 }, `${p}.attn.softmax`);
    const context = mergeHeads(b, c, `${p}.attn.merge_heads`, b.op('MatMul', [probs, v], {}, `${p}.attn.context`), {
      batch,
      seqLen,
      width: hidden,
    });
    x = b.op('Add', [x, linear(b, `${p}.attn.c_proj`, context, hidden, hidden)], {}, `${p}.attn.residual`);
    const fc = geluTanh(
      b,
      c,
      `${p}.mlp.act`,
      linear(b, `${p}.mlp.c_fc`, layerNorm(b, `${p}.ln_2`, x, hidden, CONFIG.eps), hidden, 4 * hidden),
    );
    x = b.op('Add', [x, linear(b, `${p}.mlp.c_proj`, fc, 4 * hidden, hidden)], {}, `${p}.mlp.residual`);
  }
  x = layerNorm(b, 'ln_f', x, hidden, CONFIG.eps);
  const logits = tiedLmHead(b, c, x, wte.table, { batch, seqLen, width: hidden, vocab: CONFIG.vocab });
  b.output(logits, 'float32', [batch, seqLen, CONFIG.vocab]);
  return b.build();
}

export const gpt2 = transformerEntry(
  {
    name: 'gpt2',
    title: 'GPT-2 small',
    source: 'Hugging Face gpt2 config.json (12 layers, hidden 768, 12 heads, lm_head tied to wte)',
    publishedParams: 124_439_808,
    layers: CONFIG.layers,
    maxSeqLen: CONFIG.positions,
  },
  buildGpt2,
);
