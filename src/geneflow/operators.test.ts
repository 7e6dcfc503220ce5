import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { wholeOn } from '../baselines/common.ts';
import { partitionContext } from '../partition/context.ts';
import { mulberry32 } from '../random.ts';
import { createSimulator } from '../simulate/simulate.ts';
import { groupAt, samePlacementKey } from './encoding.ts';
import { mutate, mutationSpace } from './operators.ts';
import { orderOf, residualStack, testCluster, testDevice } from './testing.ts';

const model = residualStack(4, false);
const cluster = testCluster([testDevice('a'), testDevice('b'), testDevice('c')]);
const sim = createSimulator(model, cluster, orderOf(model));
const space = mutationSpace(sim.context, sim.opMs, cluster);
const { structure } = space;
const key = (d: { placement: Parameters<typeof samePlacementKey>[0]; sync: boolean }) => `${samePlacementKey(d.placement)}${d.sync}`;

describe('structure mutations', () => {
  it('the structure they act on: 4 blocks of 5 operators, one family, one stage', () => {
    assert.equal(structure.blocks.length, 4);
    assert.deepEqual(
      structure.stages.map((s) => [s.start, s.end]),
      [[0, 20]],
    );
    assert.equal(partitionContext(model, orderOf(model)).order.length, 20);
  });

  it('family: a block’s decisions copied onto every block of its family', () => {
    const random = mulberry32(5);
    // Block 2 split by rows over a and b (fused), the rest on c.
    const start = wholeOn(sim.context, 2).map((d, p) =>
      p >= 10 && p < 15 ? { ...d, placement: { dim: 'rows' as const, ratios: [0.5, 0.5, 0] }, sync: p === 14 } : d,
    );
    let copied = 0;
    for (let trial = 0; trial < 200; trial++) {
      const child = mutate(space, start, 'family', random);
      if (child.every((d, p) => key(d) === key(start[10 + (p % 5)]!))) copied++;
      // Whatever the position drawn, every block ends up with one block's pattern.
      for (let b = 1; b < 4; b++) for (let i = 0; i < 5; i++) assert.equal(key(child[5 * b + i]!), key(child[i]!), `trial ${trial}`);
    }
    assert.ok(copied > 20, `block 2's pattern spread ${copied} times in 200`);
  });

  it('stage: the group ends at a stage end or at a boundary inside it', () => {
    const random = mulberry32(9);
    const boundaries = new Set(space.boundaries);
    const start = wholeOn(sim.context, 0).map((d, p) =>
      p < 3 ? { ...d, placement: { dim: 'rows' as const, ratios: [0.4, 0.3, 0.3] }, sync: p === 2 } : d,
    );
    let grown = 0;
    for (let trial = 0; trial < 200; trial++) {
      const child = mutate(space, start, 'stage', random);
      if (child.every((d, p) => key(d) === key(start[p]!))) continue;
      const changed = child.findIndex((d, p) => key(d) !== key(start[p]!));
      const [, end] = groupAt(child, changed);
      assert.ok(boundaries.has(end), `trial ${trial}: group ends at ${end}, not a boundary`);
      assert.equal(child[end - 1]!.sync, true);
      if (end === 20) grown++;
    }
    assert.ok(grown > 0, 'some stretch grew to the stage end');
  });
});
