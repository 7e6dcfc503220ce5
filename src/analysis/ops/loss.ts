import type { OpTable } from './types.ts';
import { product } from './util.ts';

/** Losses reduce to a scalar unless reduction='none', which keeps the target's shape. */
function lossShape(reduction: string, target: number[]): number[] {
  return reduction === 'none' ? [...target] : [];
}

export const lossOps: OpTable = {
  /** Pick, weight and accumulate: 2 FLOPs per target element. */
  NegativeLogLikelihoodLoss: {
    infer: (ctx) => [{ dtype: ctx.input(0).dtype, shape: lossShape(ctx.attrs.string('reduction', 'mean'), ctx.input(1).shape) }],
    flops: (ctx) => 2 * product(ctx.input(1).shape),
  },
  /** A LogSoftmax over the scores (5 per score) then the NLL loss (2 per label); output 1 is the log-probabilities. */
  SoftmaxCrossEntropyLoss: {
    infer: (ctx) => {
      const scores = ctx.input(0);
      const loss = { dtype: scores.dtype, shape: lossShape(ctx.attrs.string('reduction', 'mean'), ctx.input(1).shape) };
      return ctx.node.outputs.length > 1 ? [loss, { dtype: scores.dtype, shape: [...scores.shape] }] : [loss];
    },
    flops: (ctx) => 5 * product(ctx.input(0).shape) + 2 * product(ctx.input(1).shape),
  },
};
