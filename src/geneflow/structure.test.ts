import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyzeGraph } from '../analysis/analyze.ts';
import { GraphBuilder } from '../ir/builder.ts';
import type { Model } from '../ir/graph.ts';
import { partitionContext } from '../partition/context.ts';
import { zooEntry } from '../zoo/index.ts';
import { detectStructure, type Structure } from './structure.ts';
import { convChain, orderOf, residualStack } from './testing.ts';

const structureOf = (model: Model, order = orderOf(model)): Structure => detectStructure(partitionContext(model, order));
const familySizes = (s: Structure) => s.families.map((f) => f.blocks.length).sort((a, b) => a - b);
const zoo = (name: string, options = {}) => analyzeGraph(zooEntry(name).build(options));

/** Two-branch modules (conv and pool branches, concatenated, then a 1×1 conv back to 4 channels). */
function branchy(modules: number): Model {
  const b = new GraphBuilder('branchy');
  let x = b.input('x', 'float32', [1, 4, 8, 8]);
  for (let i = 0; i < modules; i++) {
    const c = b.op('Conv', [x, b.weight(`m${i}.w`, [4, 4, 3, 3])], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, `m${i}.conv`);
    const p = b.op('MaxPool', [x], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, `m${i}.pool`);
    const cat = b.op('Concat', [c, p], { axis: 1 }, `m${i}.cat`);
    x = b.op('Conv', [cat, b.weight(`m${i}.mix`, [4, 8, 1, 1])], { kernel_shape: [1, 1] }, `m${i}.mixconv`);
  }
  b.output(x);
  return analyzeGraph(b.build());
}

describe('detectStructure', () => {
  it('hand-built residual stack: one cut per block, one family of identical blocks, one stage', () => {
    const model = residualStack(3, false);
    const s = structureOf(model);
    // Inside a block the input stays live until the Add.
    // conv, relu, conv, add | relu |: the final Relu joins its block.
    assert.deepEqual(s.cuts, [4, 5, 9, 10, 14]);
    assert.deepEqual(
      s.blocks.map((block) => [block.start, block.end]),
      [
        [0, 5],
        [5, 10],
        [10, 15],
      ],
    );
    assert.deepEqual(familySizes(s), [3]);
    assert.equal(s.stages.length, 1);
    assert.deepEqual(s.blocks[0]!.outputShape, [1, 4, 8, 8]);
  });

  it('a mask read by every block is a side input: it does not hide the cuts', () => {
    const s = structureOf(residualStack(4, true));
    assert.ok(s.side[0], 'the mask operator is a side operator');
    assert.deepEqual(familySizes(s), [4]);
    assert.equal(s.stages[0]!.blocks.length, 4);
  });

  it('a plain chain has a cut at every boundary; its repeated conv blocks form one family', () => {
    const s = structureOf(convChain(5));
    assert.deepEqual(s.cuts, [1, 2, 3, 4]);
    assert.deepEqual(familySizes(s), [5]);
  });

  it('canonical signatures: modules whose branches run in different orders are one family, ops matched by role', () => {
    const model = branchy(3);
    const order = orderOf(model);
    // The second module runs its pool branch first.
    const [conv, pool] = [order.indexOf('m1.conv'), order.indexOf('m1.pool')];
    [order[conv], order[pool]] = [order[pool]!, order[conv]!];
    const s = structureOf(model, order);
    assert.deepEqual(familySizes(s), [3]);
    const name = (p: number) => order[p]!.split('.')[1];
    for (const block of s.blocks) assert.deepEqual(block.canonical.map(name), s.blocks[0]!.canonical.map(name));
  });

  it('no repeats, no families', () => {
    const b = new GraphBuilder('plain');
    const x = b.input('x', 'float32', [1, 4, 8, 8]);
    const y = b.op('Conv', [x, b.weight('w', [4, 4, 3, 3])], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, 'conv');
    b.output(b.op('GlobalAveragePool', [b.op('Relu', [y], {}, 'relu')], {}, 'gap'));
    const s = structureOf(analyzeGraph(b.build()));
    assert.equal(s.families.length, 0);
    assert.equal(s.blocks.length, 0);
  });

  it('ResNet-50: 16 bottlenecks (4 with a projection, 12 without) in 4 stages of 3, 4, 6, 3', () => {
    const s = structureOf(zoo('resnet50'));
    assert.equal(s.blocks.length, 16);
    assert.deepEqual(familySizes(s), [4, 12]);
    assert.deepEqual(
      s.stages.map((stage) => stage.blocks.length),
      [3, 4, 6, 3],
    );
  });

  it('BERT-base and GPT-2: one family of 12 identical layers, one stage (BERT’s mask is a side input)', () => {
    for (const name of ['bert-base', 'gpt2']) {
      const s = structureOf(zoo(name));
      // GPT-2's two embedding Gathers (token, position) are a family of one-operator layers too.
      assert.deepEqual(familySizes(s), name === 'gpt2' ? [2, 12] : [12], name);
      const layers = s.families.find((f) => f.blocks.length === 12)!;
      assert.ok(
        s.stages.some((stage) => stage.blocks.length === 12 && stage.blocks.every((b) => layers.blocks.includes(b))),
        `${name}: the 12 layers are one stage`,
      );
    }
    assert.ok(familySizes(structureOf(zoo('gpt2', { layers: 3 }))).includes(3), 'a 3-layer GPT-2 has 3 layers');
  });

  it('VGG-13: conv–relu blocks in five stages of two; GoogLeNet: nine Inception modules in one family', () => {
    const vgg = structureOf(zoo('vgg13'));
    assert.equal(vgg.families.find((f) => f.blocks.length === 10)?.blocks.length, 10);
    assert.deepEqual(
      vgg.stages.slice(0, 5).map((stage) => stage.blocks.length),
      [2, 2, 2, 2, 2],
    );
    const googlenet = structureOf(zoo('googlenet'));
    assert.ok(
      googlenet.families.some((f) => f.blocks.length === 9),
      `families ${familySizes(googlenet)}`,
    );
  });
});
