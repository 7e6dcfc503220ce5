import type { OpContext, OpDef, OpTable, OutputType } from './types.ts';
import { requireRank } from './util.ts';

interface RecurrentGeometry {
  seq: number;
  batch: number;
  input: number;
  hidden: number;
  directions: number;
  layout: number;
}

function geometry(ctx: OpContext): RecurrentGeometry {
  const x = requireRank(ctx, 0, 3, 3).shape;
  const layout = ctx.attrs.int('layout', 0);
  const direction = ctx.attrs.string('direction', 'forward');
  const hidden = ctx.attrs.int('hidden_size', 0) || requireRank(ctx, 2, 3, 3).shape[2]!;
  const [seq, batch] = layout === 0 ? [x[0]!, x[1]!] : [x[1]!, x[0]!];
  return { seq, batch, input: x[2]!, hidden, directions: direction === 'bidirectional' ? 2 : 1, layout };
}

/**
 * RNN/GRU/LSTM with `gates` gate blocks: outputs Y, Y_h (and LSTM's Y_c). FLOPs per time step, direction and
 * batch row: the gate matrix products 2·G·H·(I+H), plus 4·G·H for biases, activations and the state update.
 */
function recurrent(gates: number): OpDef {
  return {
    infer: (ctx) => {
      const g = geometry(ctx);
      const dtype = ctx.input(0).dtype;
      const y = g.layout === 0 ? [g.seq, g.directions, g.batch, g.hidden] : [g.batch, g.seq, g.directions, g.hidden];
      const state = g.layout === 0 ? [g.directions, g.batch, g.hidden] : [g.batch, g.directions, g.hidden];
      return ctx.node.outputs.map((_, i): OutputType => ({ dtype, shape: i === 0 ? y : [...state] }));
    },
    flops: (ctx) => {
      const g = geometry(ctx);
      const steps = g.seq * g.directions * g.batch;
      return steps * (2 * gates * g.hidden * (g.input + g.hidden) + 4 * gates * g.hidden);
    },
  };
}

export const recurrentOps: OpTable = {
  RNN: recurrent(1),
  GRU: recurrent(3),
  LSTM: recurrent(4),
};
