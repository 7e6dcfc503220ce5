import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { wholeOn } from '../baselines/common.ts';
import { partitionContext } from '../partition/context.ts';
import { mulberry32 } from '../random.ts';
import { createSimulator } from '../simulate/simulate.ts';
import { groupAt, samePlacementKey } from './encoding.ts';
import { decisionsKey, Evaluator } from './fitness.ts';
import { gridShapes, mutate, mutationSpace, sharesToGrid } from './operators.ts';
import { gridSeeds } from './seeds.ts';
import { convChain, orderOf, residualStack, testCluster, testDevice } from './testing.ts';

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

describe('grid mutation and grid seeds', () => {
  it('gridShapes and sharesToGrid by hand', () => {
    assert.deepEqual(gridShapes(4), [
      [2, 2],
      [1, 4],
    ]);
    assert.deepEqual(gridShapes(6), [
      [2, 3],
      [1, 6],
    ]);
    assert.deepEqual(gridShapes(2), [[1, 2]]);
    assert.deepEqual(gridShapes(1), []);
    // Devices by share: 1 (0.4), 3 (0.3), 2 (0.2), 0 (0.1); rows 0.4 + 0.3, 0.2 + 0.1; columns 0.4 + 0.2, 0.3 + 0.1.
    assert.deepEqual(sharesToGrid([0.1, 0.4, 0.2, 0.3], [2, 2]), {
      dim: 'grid',
      rows: [0.7, 0.3],
      cols: [0.6, 0.4],
      devices: [1, 3, 2, 0],
    });
    assert.equal(sharesToGrid([0.5, 0.5, 0, 0], [2, 2]), null);
  });

  it('grid: a fused stripe stretch becomes a grid over its devices and back; plan keys tell them apart', () => {
    const chain = convChain(3, 4, 8);
    const four = testCluster([0, 1, 2, 3].map((i) => testDevice(`d${i}`)));
    const s4 = createSimulator(chain, four, orderOf(chain));
    const sp = mutationSpace(s4.context, s4.opMs, four);
    assert.ok(sp.mutations.includes('grid'));
    const stripes = orderOf(chain).map((op, p) => ({
      op,
      placement: { dim: 'rows' as const, ratios: [0.25, 0.25, 0.25, 0.25] },
      sync: p === 2,
    }));
    const random = mulberry32(3);
    const shapes = new Set<string>();
    for (let trial = 0; trial < 20; trial++) {
      const child = mutate(sp, stripes, 'grid', random);
      const first = child[0]!.placement;
      assert.ok('devices' in first, JSON.stringify(first));
      assert.deepEqual(first.devices, [0, 1, 2, 3]);
      shapes.add(`${first.rows.length}x${first.cols.length}`);
      // The whole group switched, synchronisation flags kept.
      assert.ok(child.every((d, p) => d.placement === first && d.sync === (p === 2)));
      assert.notEqual(decisionsKey(child), decisionsKey(stripes));
      // And back: rows stripes with the devices' shares.
      const back = mutate(sp, child, 'grid', random);
      assert.deepEqual(back[1]!.placement, { dim: 'rows', ratios: [0.25, 0.25, 0.25, 0.25] });
    }
    assert.deepEqual([...shapes].sort(), ['1x4', '2x2']);
    // ratios on a grid perturbs its bands (normalised), devices kept.
    const grid = mutate(sp, stripes, 'grid', mulberry32(1));
    const perturbed = mutate(sp, grid, 'ratios', mulberry32(2))[0]!.placement;
    assert.ok('devices' in perturbed && Math.abs(perturbed.rows.reduce((a, b) => a + b, 0) - 1) < 1e-3);
  });

  it('grid seeds: the best seeds with their rows splits on grids, once per shape', () => {
    const chain = convChain(3, 4, 8);
    const four = testCluster([0, 1, 2, 3].map((i) => testDevice(`d${i}`)));
    const s4 = createSimulator(chain, four, orderOf(chain));
    const evaluator = new Evaluator(s4);
    const stripes = evaluator.evaluate(
      orderOf(chain).map((op, p) => ({ op, placement: { dim: 'rows' as const, ratios: [0.25, 0.25, 0.25, 0.25] }, sync: p === 2 })),
    );
    const whole = evaluator.evaluate(wholeOn(s4.context, 0));
    const seeds = gridSeeds(s4.context, 4, [whole, stripes], (c) => evaluator.evaluate(c));
    assert.deepEqual(
      seeds.map((e) => e.decisions.map((d) => ('devices' in d.placement ? `${d.placement.rows.length}x${d.placement.cols.length}` : '-'))),
      [
        ['2x2', '2x2', '2x2'],
        ['1x4', '1x4', '1x4'],
      ],
    );
  });
});
