import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Device } from '../cluster/types.ts';
import { GraphBuilder } from '../ir/builder.ts';
import type { Model } from '../ir/graph.ts';
import { loadModel } from '../model/load.ts';
import { modelFingerprint } from '../model/fingerprint.ts';
import { memoryGraphOf } from '../memory/graph.ts';
import { evaluateOrder } from '../memory/model.ts';
import { computeMs, wholeOpMs } from '../simulate/latency.ts';
import { analyzeGraph } from './analyze.ts';
import { fusionGroups } from './fusion.ts';

const F = 4; // bytes per float32

/** Conv(1×1, 2→2 channels) → BatchNormalization → Add(residual) → Relu on 1×2×4×4, plus a lone Sigmoid on the residual. */
function convChain(): Model {
  const b = new GraphBuilder('conv-chain', { seed: 1 });
  const x = b.input('x', 'float32', [1, 2, 4, 4]);
  const r = b.input('r', 'float32', [1, 2, 4, 4]);
  const c = b.op('Conv', [x, b.weight('w', [2, 2, 1, 1])], {}, 'conv');
  const bn = b.op('BatchNormalization', [c, b.weight('s', [2]), b.weight('o', [2]), b.weight('m', [2]), b.fill('v', [2], 1)], {}, 'bn');
  const add = b.op('Add', [bn, r], {}, 'add');
  b.output(b.op('Relu', [add], {}, 'relu'));
  b.output(b.op('Sigmoid', [r], {}, 'sigmoid'));
  return analyzeGraph(b.build(), { name: 'conv-chain' });
}

/** Add(a, bias) → x·½(1 + erf(x/√2)) on 1×8 (the erf GELU as torch exports it). */
function gelu(extraReader = false): Model {
  const b = new GraphBuilder('gelu', { seed: 1 });
  const a = b.input('a', 'float32', [1, 8]);
  const x = b.op('Add', [a, b.weight('bias', [8])], {}, 'bias_add');
  const div = b.op('Div', [x, b.fill('sqrt2', [], Math.SQRT2)], {}, 'div');
  const erf = b.op('Erf', [div], {}, 'erf');
  const one = b.op('Add', [erf, b.fill('one', [], 1)], {}, 'plus_one');
  const mul = b.op('Mul', [x, one], {}, 'mul');
  b.output(b.op('Mul', [mul, b.fill('half', [], 0.5)], {}, 'times_half'));
  if (extraReader) b.output(b.op('Neg', [erf], {}, 'neg'));
  return analyzeGraph(b.build(), { name: 'gelu' });
}

const names = (model: Model, ops: number[]) => ops.map((i) => model.ops[i]!.node.name);
const device = (extra: Partial<Device> = {}): Device => ({
  name: 'd',
  gflops: 10,
  memoryMB: 1024,
  uplinkMbps: 100,
  downlinkMbps: 100,
  latencyMs: 0,
  ...extra,
});

describe('fusion groups (the fusions ONNX Runtime applies)', () => {
  it('Conv → BatchNormalization → Add → Relu is one group; its bytes are its inputs, weights and final output', () => {
    const model = convChain();
    const { groups, groupOf } = fusionGroups(model);
    const conv = groups[groupOf[0]!]!;
    assert.equal(conv.rule, 'conv');
    assert.deepEqual(names(model, conv.ops), ['conv', 'bn', 'add', 'relu']);
    // x 32 floats + w 4 + BN 4 × 2 + r 32 + the Relu's output 32.
    assert.equal(conv.bytes, (32 + 4 + 8 + 32 + 32) * F);
    const sigmoid = groups[groupOf[4]!]!;
    assert.equal(sigmoid.rule, 'none');
    assert.equal(sigmoid.bytes, (32 + 32) * F, 'an operator alone: bytesRead + bytesWritten');
  });

  it('the erf GELU with its bias Add is one group; an intermediate read outside keeps it apart', () => {
    const model = gelu();
    const { groups } = fusionGroups(model);
    assert.equal(groups.length, 1);
    assert.equal(groups[0]!.rule, 'gelu');
    assert.deepEqual(names(model, groups[0]!.ops), ['bias_add', 'div', 'erf', 'plus_one', 'mul', 'times_half']);
    // a 8 + bias 8 + three scalar constants + the output 8.
    assert.equal(groups[0]!.bytes, (8 + 8 + 3 + 8) * F);
    const split = gelu(true);
    assert.ok(
      fusionGroups(split).groups.every((g) => g.rule !== 'gelu'),
      'erf is read by Neg: no GELU group',
    );
  });

  it('the zoo, as ONNX Runtime 1.30 fuses it at level all: ResNet50 every Conv; BERT MatMul+bias, its GELU and skip LayerNorms; GPT-2 not its tanh GELU', () => {
    const rules = (model: Model) => fusionGroups(model).groups.map((g) => g.rule);
    const count = (list: string[], rule: string) => list.filter((r) => r === rule).length;
    const resnet = rules(loadModel('resnet50'));
    assert.equal(count(resnet, 'conv'), 53, 'all 53 convolutions');
    const bert = rules(loadModel('bert-base', { layers: 2, seqLen: 8 }));
    assert.equal(count(bert, 'gelu'), 2);
    assert.equal(count(bert, 'matmul-scale'), 2, 'attention scores and their scale');
    assert.equal(count(bert, 'skip-layer-norm'), 5, 'embeddings + 2 per layer');
    assert.equal(count(bert, 'matmul-add'), 2 * 6 + 1, 'six per layer and the pooler with its Tanh');
    const gpt2 = loadModel('gpt2', { layers: 2, seqLen: 8 });
    const act = gpt2.ops.flatMap((op, i) => (op.node.name.includes('.mlp.act.') ? [i] : []));
    assert.equal(act.length, 18);
    const { groups, groupOf } = fusionGroups(gpt2);
    assert.ok(
      act.every((i) => groups[groupOf[i]!]!.rule === 'none'),
      'the x·x·x tanh GELU stays nine kernels',
    );
  });
});

describe('roofline: memory-bound operators cost their bytes over the bandwidth', () => {
  const model = convChain();
  const fp = modelFingerprint(model);
  const sigmoid = 4;

  it('without memoryGBps the FLOPs alone; with it an operator alone costs max(FLOPs time, bytes / bandwidth)', () => {
    const flopsOnly = wholeOpMs(device(), model, sigmoid, fp);
    assert.equal(flopsOnly, model.ops[sigmoid]!.cost.flops / 1e7);
    // 64 floats moved at 0.001 GB/s = 256 bytes / 1e3 bytes per ms.
    assert.equal(wholeOpMs(device({ memoryGBps: 0.001 }), model, sigmoid, fp), 0.256);
    // At 1000 GB/s the bytes take 0.000256 ms, less than the FLOPs.
    assert.equal(wholeOpMs(device({ memoryGBps: 1000 }), model, sigmoid, fp), flopsOnly);
  });

  it("a memory-bound group takes its bytes' time, shared by FLOPs; a compute-bound group keeps each FLOPs time", () => {
    const slow = device({ memoryGBps: 0.001 });
    const members = [0, 1, 2, 3];
    const compute = members.map((i) => computeMs(slow, model, i));
    const total = compute.reduce((a, b) => a + b, 0);
    const groupMs = (108 * F) / 1e3;
    assert.ok(groupMs > total, 'memory-bound at 0.001 GB/s');
    members.forEach((i, k) => assert.ok(Math.abs(wholeOpMs(slow, model, i, fp) - (groupMs * compute[k]!) / total) < 1e-12, `op ${i}`));
    const fast = device({ memoryGBps: 1000 });
    members.forEach((i) => assert.equal(wholeOpMs(fast, model, i, fp), computeMs(fast, model, i)));
  });

  it('a profile that measured the operator, or its type, wins over the roofline', () => {
    const profiled = device({
      memoryGBps: 0.001,
      profile: { format: 'memorianova-profile', version: 1, model: { name: 'conv-chain', fingerprint: fp }, ops: { sigmoid: 0.5 } },
    });
    assert.equal(wholeOpMs(profiled, model, sigmoid, fp), 0.5);
    const typed = device({ memoryGBps: 0.001, profile: { format: 'memorianova-profile', version: 1, opTypes: { Sigmoid: 2 } } });
    assert.equal(wholeOpMs(typed, model, sigmoid, fp), model.ops[sigmoid]!.cost.flops / 2e6);
  });
});

describe('--fuse: tensors inside a fusion group take no memory', () => {
  it('Conv → BatchNormalization → Add → Relu: the conv, BN and Add outputs cost 0 bytes, step by step', () => {
    const model = convChain();
    const order = [0, 1, 2, 3, 4];
    const t = 32 * F; // every activation is 1×2×4×4 float32
    // No in-place reuse: each step holds the live tensors plus its new output.
    const plain = evaluateOrder(memoryGraphOf(model), order, { inplace: false });
    assert.deepEqual(plain.stepBytes, [3 * t, 3 * t, 3 * t, 3 * t, 3 * t]);
    const fused = evaluateOrder(memoryGraphOf(model, { fuse: true }), order, { inplace: false });
    // conv: x, r + its output (0); bn, add: r + 0; relu: r + its output; sigmoid: r, relu's output + its own.
    assert.deepEqual(fused.stepBytes, [2 * t, t, t, 2 * t, 3 * t]);
  });
});
