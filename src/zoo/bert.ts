import { GraphBuilder } from '../ir/builder.ts';
import type { Graph } from '../ir/graph.ts';
import { transformerEntry, type ResolvedTransformerOptions } from './entry.ts';
import { linear } from './layers.ts';
import { Constants, embedding, layerNorm, mergeHeads, positionIds, splitHeads, tokenInput } from './transformer.ts';

/** Hugging Face bert-base-uncased config.json. */
const CONFIG = { vocab: 30522, hidden: 768, layers: 12, heads: 12, intermediate: 3072, maxPositions: 512, typeVocab: 2, eps: 1e-12 };

/** GELU with erf, as BERT defines it: x · ½ · (1 + erf(x / √2)). */
function gelu(b: GraphBuilder, c: Constants, name: string, x: string): string {
  const e = b.op('Erf', [b.op('Div', [x, c.scalar(Math.SQRT2)], {}, `${name}.div`)], {}, `${name}.erf`);
  const y = b.op('Mul', [x, b.op('Add', [e, c.scalar(1)], {}, `${name}.add`)], {}, `${name}.mul`);
  return b.op('Mul', [y, c.scalar(0.5)], {}, `${name}.half`);
}

export function buildBertBase({ batch, seqLen, layers }: ResolvedTransformerOptions): Graph {
  const b = new GraphBuilder('bert-base');
  const c = new Constants(b);
  const { hidden, heads } = CONFIG;
  const headDim = hidden / heads;
  const inputIds = tokenInput(b, 'input_ids', batch, seqLen);
  const tokenTypeIds = tokenInput(b, 'token_type_ids', batch, seqLen);
  const attentionMask = tokenInput(b, 'attention_mask', batch, seqLen);

  const words = embedding(b, 'embeddings.word_embeddings', inputIds, CONFIG.vocab, hidden).output;
  const positions = embedding(b, 'embeddings.position_embeddings', positionIds(b, seqLen), CONFIG.maxPositions, hidden).output;
  const types = embedding(b, 'embeddings.token_type_embeddings', tokenTypeIds, CONFIG.typeVocab, hidden).output;
  let x = b.op('Add', [b.op('Add', [words, positions], {}, 'embeddings.add_position'), types], {}, 'embeddings.add_token_type');
  x = layerNorm(b, 'embeddings.LayerNorm', x, hidden, CONFIG.eps);

  // The extended attention mask: (1 − mask) · −10000, broadcast over heads and query positions.
  const maskFloat = b.op('Cast', [attentionMask], { to: 1 }, 'extended_mask.cast');
  const inverted = b.op('Sub', [c.scalar(1), maskFloat], {}, 'extended_mask.invert');
  const scaled = b.op('Mul', [inverted, c.scalar(-10000)], {}, 'extended_mask.scale');
  const maskBias = b.op('Unsqueeze', [scaled, c.ints([1, 2])], {}, 'extended_mask.unsqueeze');

  const shape = { batch, seqLen, heads, headDim };
  for (let i = 0; i < layers; i++) {
    const p = `encoder.layer.${i}`;
    const q = splitHeads(b, c, `${p}.attention.self.query_heads`, linear(b, `${p}.attention.self.query`, x, hidden, hidden), shape);
    const k = splitHeads(b, c, `${p}.attention.self.key_heads`, linear(b, `${p}.attention.self.key`, x, hidden, hidden), shape, true);
    const v = splitHeads(b, c, `${p}.attention.self.value_heads`, linear(b, `${p}.attention.self.value`, x, hidden, hidden), shape);
    let scores = b.op('MatMul', [q, k], {}, `${p}.attention.self.scores`);
    scores = b.op('Div', [scores, c.scalar(Math.sqrt(headDim))], {}, `${p}.attention.self.scale`);
    scores = b.op('Add', [scores, maskBias], {}, `${p}.attention.self.mask`);
    const probs = b.op('Softmax', [scores], { axis: -1 }, `${p}.attention.self.softmax`);
    const context = mergeHeads(b, c, `${p}.attention.self.context`, b.op('MatMul', [probs, v], {}, `${p}.attention.self.context`), {
      batch,
      seqLen,
      width: hidden,
    });
    const attention = linear(b, `${p}.attention.output.dense`, context, hidden, hidden);
    x = layerNorm(
      b,
      `${p}.attention.output.LayerNorm`,
      b.op('Add', [attention, x], {}, `${p}.attention.output.residual`),
      hidden,
      CONFIG.eps,
    );
    const intermediate = gelu(b, c, `${p}.intermediate.gelu`, linear(b, `${p}.intermediate.dense`, x, hidden, CONFIG.intermediate));
    const output = linear(b, `${p}.output.dense`, intermediate, CONFIG.intermediate, hidden);
    x = layerNorm(b, `${p}.output.LayerNorm`, b.op('Add', [output, x], {}, `${p}.output.residual`), hidden, CONFIG.eps);
  }

  // Pooler: dense + tanh on the first ([CLS]) token.
  const first = b.op('Gather', [x, c.ints([0])], { axis: 1 }, 'pooler.first_token');
  const firstFlat = b.op('Reshape', [first, c.ints([batch, hidden])], {}, 'pooler.flatten');
  const pooled = b.op('Tanh', [linear(b, 'pooler.dense', firstFlat, hidden, hidden)], {}, 'pooler.activation');
  b.output(x, 'float32', [batch, seqLen, hidden]);
  b.output(pooled, 'float32', [batch, hidden]);
  return b.build();
}

export const bertBase = transformerEntry(
  {
    name: 'bert-base',
    title: 'BERT-base (uncased)',
    source: 'Hugging Face bert-base-uncased config.json (BertModel with pooler; 12 layers, hidden 768, 12 heads)',
    publishedParams: 109_482_240,
    layers: CONFIG.layers,
    maxSeqLen: CONFIG.maxPositions,
  },
  buildBertBase,
);
