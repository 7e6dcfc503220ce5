import assert from 'node:assert/strict';
import fc from 'fast-check';
import { describe, it } from 'node:test';
import { analyzeGraph } from '../analysis/analyze.ts';
import { MemoriaNovaError } from '../errors.ts';
import { GraphBuilder } from '../ir/builder.ts';
import type { Graph } from '../ir/graph.ts';
import { validateGraph } from '../ir/validate.ts';
import { countParams, ZOO, zooEntry } from './index.ts';
import { regnetStages } from './regnet.ts';

/**
 * Parameter counts as the models' own publications round them (torchvision's model documentation for the CNNs,
 * without auxiliary heads; the Hugging Face model cards of bert-base-uncased, gpt2 and Qwen/Qwen2-0.5B, tied
 * embeddings), with the unit of their last stated digit.
 */
const REFERENCE: Record<string, { params: number; unit: number }> = {
  vgg13: { params: 133.0e6, unit: 0.1e6 },
  resnet50: { params: 25.6e6, unit: 0.1e6 },
  inceptionv3: { params: 23.8e6, unit: 0.1e6 },
  'mobilenetv3-large': { params: 5.48e6, unit: 0.01e6 },
  'squeezenet1.0': { params: 1.25e6, unit: 0.01e6 },
  googlenet: { params: 6.6e6, unit: 0.1e6 },
  'regnety-400mf': { params: 4.3e6, unit: 0.1e6 },
  'bert-base': { params: 110e6, unit: 1e6 },
  gpt2: { params: 124e6, unit: 1e6 },
  'qwen2-0.5b': { params: 494e6, unit: 1e6 },
};

describe('model zoo', () => {
  it('has the eleven models under their documented names', () => {
    assert.deepEqual(
      ZOO.map((e) => e.name),
      [
        'vgg13',
        'resnet50',
        'inceptionv3',
        'mobilenetv3-large',
        'squeezenet1.0',
        'googlenet',
        'regnety-400mf',
        'bert-base',
        'gpt2',
        'qwen2-0.5b',
        'yolov2',
      ],
    );
  });

  for (const entry of ZOO) {
    it(`${entry.name}: validates and has the published parameter count`, () => {
      const graph = entry.build();
      validateGraph(graph);
      const params = countParams(graph);
      assert.ok(Math.abs(params - entry.publishedParams) <= 0.005 * entry.publishedParams, `${params} vs ${entry.publishedParams}`);
      const reference = REFERENCE[entry.name];
      if (reference !== undefined) {
        const withinHalfPercent = Math.abs(params - reference.params) <= 0.005 * reference.params;
        const sameAtStatedPrecision = Math.round(params / reference.unit) * reference.unit === reference.params;
        assert.ok(withinHalfPercent || sameAtStatedPrecision, `${params} vs published ${reference.params}`);
      }
    });
  }

  it('matches the exact published counts (only scalar constants and RoPE tables added)', () => {
    const excess = Object.fromEntries(ZOO.map((e) => [e.name, countParams(e.build()) - e.publishedParams]));
    // BERT: √2, 1, 0.5, 8, −10000; GPT-2: 0.044715, √(2/π), 1, 0.5, 8, lowest float; Qwen2: ε, 1/8, lowest float + 2 × 128 × 64 rotary.
    assert.deepEqual(excess, {
      vgg13: 0,
      resnet50: 0,
      inceptionv3: 0,
      'mobilenetv3-large': 0,
      'squeezenet1.0': 0,
      googlenet: 0,
      'regnety-400mf': 0,
      'bert-base': 5,
      gpt2: 6,
      'qwen2-0.5b': 3 + 2 * 128 * 64,
      yolov2: 0,
    });
  });

  it('builds deterministically: the same seeds and names every time', () => {
    const a = zooEntry('mobilenetv3-large').build();
    const b = zooEntry('mobilenetv3-large').build();
    assert.deepEqual([...a.initializers.values()], [...b.initializers.values()]);
    assert.deepEqual(a.nodes, b.nodes);
  });

  it('gives nodes readable, module-path names', () => {
    const names = new Set(
      zooEntry('resnet50')
        .build()
        .nodes.map((n) => n.name),
    );
    for (const name of ['conv1', 'layer3.2.conv1', 'layer4.0.downsample.0', 'fc']) assert.ok(names.has(name), name);
    const qwen = new Set(
      zooEntry('qwen2-0.5b')
        .build({ layers: 1 })
        .nodes.map((n) => n.name),
    );
    assert.ok(qwen.has('model.layers.0.self_attn.q_proj.matmul'));
  });

  it('sizes inputs and outputs from batch and sequence length', () => {
    const resnet = zooEntry('resnet50').build({ batch: 4 });
    assert.deepEqual(resnet.inputs[0]!.shape, [4, 3, 224, 224]);
    assert.deepEqual(resnet.outputs[0]!.shape, [4, 1000]);
    const gpt2 = zooEntry('gpt2').build({ batch: 2, seqLen: 16, layers: 1 });
    assert.deepEqual(
      gpt2.inputs.map((i) => i.shape),
      [[2, 16]],
    );
    assert.deepEqual(gpt2.outputs[0]!.shape, [2, 16, 50257]);
    const bert = zooEntry('bert-base').build({ seqLen: 8, layers: 1 });
    assert.deepEqual(
      bert.inputs.map((i) => i.name),
      ['input_ids', 'token_type_ids', 'attention_mask'],
    );
    assert.deepEqual(
      bert.outputs.map((o) => o.shape),
      [
        [1, 8, 768],
        [1, 768],
      ],
    );
    assert.deepEqual(zooEntry('yolov2').build().outputs[0]!.shape, [1, 425, 19, 19]);
  });

  it('keeps only the requested transformer layers', () => {
    const perLayer = 14_912_384; // q, k, v (with bias), o, SwiGLU MLP and two RMSNorm gains at hidden 896
    const one = countParams(zooEntry('qwen2-0.5b').build({ layers: 1, seqLen: 4 }));
    const two = countParams(zooEntry('qwen2-0.5b').build({ layers: 2, seqLen: 4 }));
    assert.equal(two - one, perLayer);
  });

  it('derives torchvision regnet_y_400mf stages from its init parameters', () => {
    assert.deepEqual(regnetStages(16, 48, 27.89, 2.09, 8), [
      { width: 48, depth: 1, groupWidth: 8 },
      { width: 104, depth: 3, groupWidth: 8 },
      { width: 208, depth: 6, groupWidth: 8 },
      { width: 440, depth: 6, groupWidth: 8 },
    ]);
  });

  it('rejects unknown names and options that do not apply', () => {
    assert.throws(
      () => zooEntry('foo'),
      (e: unknown) =>
        e instanceof MemoriaNovaError &&
        e.message ===
          "unknown model 'foo'; built-in models: vgg13, resnet50, inceptionv3, mobilenetv3-large, squeezenet1.0, googlenet, regnety-400mf, bert-base, gpt2, qwen2-0.5b, yolov2",
    );
    assert.throws(() => zooEntry('resnet50').build({ seqLen: 8 }), /model 'resnet50' is a CNN: a sequence length does not apply/);
    assert.throws(() => zooEntry('vgg13').build({ layers: 2 }), /model 'vgg13' is a CNN: a layer count does not apply/);
    assert.throws(() => zooEntry('gpt2').build({ seqLen: 1025 }), /model 'gpt2': sequence length 1025 exceeds its 1024 positions/);
    assert.throws(() => zooEntry('gpt2').build({ layers: 1_000_000 }), /model 'gpt2': layers 1000000 exceeds its 12 layers/);
    assert.throws(() => zooEntry('bert-base').build({ batch: 0 }), /model 'bert-base': batch must be a positive integer, got 0/);
    assert.throws(() => zooEntry('qwen2-0.5b').build({ layers: 1.5 }), /layers must be a positive integer, got 1.5/);
  });
});

/**
 * Published compute, in multiply-accumulates of the convolutions and fully connected layers at the default
 * input, with the precision it is stated at: torchvision's model tables (GFLOPS column, which counts MACs)
 * and darknet's YOLO page (62.94 Bn FLOPs for YOLOv2 608×608, which counts 2 per MAC).
 */
const PUBLISHED_GMACS: Record<string, { gmacs: number; unit: number }> = {
  vgg13: { gmacs: 11.31, unit: 0.01 },
  resnet50: { gmacs: 4.09, unit: 0.01 },
  inceptionv3: { gmacs: 5.71, unit: 0.01 },
  'mobilenetv3-large': { gmacs: 0.22, unit: 0.01 },
  'squeezenet1.0': { gmacs: 0.82, unit: 0.01 },
  googlenet: { gmacs: 1.5, unit: 0.01 },
  'regnety-400mf': { gmacs: 0.4, unit: 0.01 },
  yolov2: { gmacs: 62.94 / 2, unit: 0.005 },
};

describe('zoo analysis', () => {
  const models = new Map(ZOO.map((e) => [e.name, analyzeGraph(e.build(), { name: e.name })]));

  it('analyses every model at its default input with static shapes and no warnings', () => {
    for (const [name, model] of models) {
      assert.deepEqual(model.warnings, [], name);
      for (const tensor of model.tensors.values())
        assert.ok(
          tensor.shape.every((d) => Number.isInteger(d) && d >= 0),
          `${name}: ${tensor.name}`,
        );
    }
  });

  it('ResNet50 costs about 2 × 4.1 G FLOPs at 224×224', () => {
    const flops = models.get('resnet50')!.ops.reduce((sum, op) => sum + op.cost.flops, 0);
    assert.ok(Math.abs(flops - 2 * 4.1e9) <= 0.01 * 2 * 4.1e9, `${flops}`);
  });

  it('matches the published multiply-accumulates of the CNNs at their stated precision', () => {
    for (const [name, published] of Object.entries(PUBLISHED_GMACS)) {
      const macs = models
        .get(name)!
        .ops.filter((op) => ['Conv', 'Gemm', 'MatMul'].includes(op.node.opType))
        .reduce((sum, op) => sum + op.cost.flops / 2, 0);
      assert.ok(Math.abs(macs / 1e9 - published.gmacs) <= published.unit / 2, `${name}: ${macs / 1e9} vs ${published.gmacs}`);
    }
  });
});

describe('zoo options (property)', () => {
  const flops = (graph: Graph) => analyzeGraph(graph).ops.reduce((sum, op) => sum + op.cost.flops, 0);
  /** Parameters one transformer layer adds: BERT and GPT-2 share 7,087,872 (hidden 768, MLP 3072). */
  const PER_LAYER: Record<string, number> = { 'bert-base': 7_087_872, gpt2: 7_087_872, 'qwen2-0.5b': 14_912_384 };

  it('transformers analyse at any batch, sequence length and layer count, with shapes, params and FLOPs following', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('bert-base', 'gpt2', 'qwen2-0.5b'),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 3 }),
        (name, batch, seqLen, layers) => {
          const entry = zooEntry(name);
          const graph = entry.build({ batch, seqLen, layers });
          const model = analyzeGraph(graph);
          for (const output of graph.outputs) assert.deepEqual(model.tensors.get(output.name)!.shape, output.shape);
          assert.equal(model.tensors.get(graph.outputs[0]!.name)!.shape.slice(0, 2).join(), `${batch},${seqLen}`);
          const oneLayer = entry.build({ batch: 1, seqLen, layers: 1 });
          assert.equal(countParams(graph) - countParams(oneLayer), (layers - 1) * PER_LAYER[name]!);
          assert.equal(flops(graph), batch * flops(entry.build({ batch: 1, seqLen, layers })));
        },
      ),
      { seed: 20261123, numRuns: 30 },
    );
  });

  it('CNN FLOPs scale exactly with the batch and params do not change', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ZOO.filter((e) => e.family === 'cnn').map((e) => e.name)),
        fc.integer({ min: 2, max: 8 }),
        (name, batch) => {
          const entry = zooEntry(name);
          const one = entry.build();
          const many = entry.build({ batch });
          assert.equal(flops(many), batch * flops(one));
          assert.equal(countParams(many), countParams(one));
        },
      ),
      { seed: 7, numRuns: 16 },
    );
  });
});

describe('countParams', () => {
  it('counts float initializers once, without batch-norm statistics or integer constants', () => {
    const b = new GraphBuilder('tiny');
    const x = b.input('x', 'float32', [1, 2, 4, 4]);
    const w = b.weight('w', [3, 2, 1, 1]); // 6
    const y = b.op('Conv', [x, w], { kernel_shape: [1, 1] });
    const n = b.op('BatchNormalization', [y, b.fill('g', [3], 1), b.fill('s', [3], 0), b.fill('m', [3], 0), b.fill('v', [3], 1)]); // 3 + 3
    const z = b.op('Conv', [n, b.weight('w2', [3, 3, 1, 1])]); // 9
    const shared = b.op('Conv', [z, 'w2']); // the same 9, counted once
    const flat = b.op('Reshape', [shared, b.int64('shape', [1, 48])]);
    b.output(flat);
    assert.equal(countParams(b.build()), 6 + 3 + 3 + 9);
  });
});
