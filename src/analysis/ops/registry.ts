import type { Node } from '../../ir/graph.ts';
import { convOps } from './conv.ts';
import { elementwiseOps } from './elementwise.ts';
import { generateOps } from './generate.ts';
import { lossOps } from './loss.ts';
import { matmulOps } from './matmul.ts';
import { movementOps } from './movement.ts';
import { normalizationOps, softmaxOps } from './normalization.ts';
import { poolOps } from './pool.ts';
import { quantizeOps } from './quantize.ts';
import { recurrentOps } from './recurrent.ts';
import { reduceOps } from './reduce.ts';
import { reshapeOps } from './reshape.ts';
import { samplingOps } from './sampling.ts';
import { selectOps } from './select.ts';
import type { OpDef } from './types.ts';

const REGISTRY = new Map<string, OpDef>(
  Object.entries({
    ...elementwiseOps,
    ...convOps,
    ...poolOps,
    ...matmulOps,
    ...normalizationOps,
    ...softmaxOps,
    ...reduceOps,
    ...reshapeOps,
    ...movementOps,
    ...generateOps,
    ...quantizeOps,
    ...recurrentOps,
    ...lossOps,
    ...samplingOps,
    ...selectOps,
  }),
);

/** The definition of a node's operator; only the default ONNX domain is known. */
export function opDefinition(node: Node): OpDef | undefined {
  if (node.domain !== '' && node.domain !== 'ai.onnx') return undefined;
  return REGISTRY.get(node.opType);
}

/** Every supported operator type of the default domain (Constant is folded before inference). */
export function supportedOperators(): string[] {
  return ['Constant', ...REGISTRY.keys()].sort();
}
