import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoriaNovaError } from '../../errors.ts';
import { GraphBuilder, type AttributeInput } from '../../ir/builder.ts';
import { analyzeGraph } from '../analyze.ts';
import { analyzeOne, shapesOf, type Operand } from '../testing.ts';

/** The node refused with one short line matching `pattern`, code invalid-model unless given. */
function refused(action: () => unknown, pattern: RegExp, code = 'invalid-model'): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof MemoriaNovaError, `expected a MemoriaNovaError, got ${String(error)}`);
    assert.match(error.message, pattern);
    assert.equal(error.code, code);
    assert.ok(error.message.length < 300, `the message is cut: ${error.message.length} characters`);
    return true;
  });
}

const x: Operand = { shape: [1, 4, 8, 8] };
const w: Operand = { shape: [6, 4, 3, 3], weight: true };
const conv =
  (attributes: Record<string, AttributeInput>, operands: Operand[] = [x, w]) =>
  () =>
    analyzeOne('Conv', operands, attributes);

describe('shape inference checks the attributes it reads', () => {
  it('Conv: kernel, strides, dilations and pads', () => {
    assert.deepEqual(shapesOf('Conv', [x, w], { pads: [1, 1, 1, 1], strides: [2, 2] }), [[1, 6, 4, 4]]);
    refused(
      conv({ kernel_shape: [-999999999997, 3] }),
      /^Conv node '[^']+': attribute 'kernel_shape' \[-999999999997,3\] is not the weight's kernel \[3,3\]$/,
    );
    refused(conv({ strides: [0, 1] }), /^attribute 'strides' of Conv node '[^']+' is \[0,1\]: every value must be at least 1$/);
    refused(conv({ dilations: [1, -2] }), /^attribute 'dilations' of Conv node '[^']+' is \[1,-2\]: every value must be at least 1$/);
    refused(conv({ pads: [0, -1, 0, 0] }), /^attribute 'pads' of Conv node '[^']+' is \[0,-1,0,0\]: every value must be at least 0$/);
    refused(conv({ pads: [1, 1] }), /^attribute 'pads' of Conv node '[^']+' has 2 values \[1,1\], expected 4$/);
    refused(conv({}, [x, { shape: [6, 4, 0, 3], weight: true }]), /^Conv node '[^']+': kernel \[0,3\] must be at least 1 on every axis$/);
  });

  it('Conv: group positive and dividing the channels; input channels and bias matching the weight', () => {
    refused(conv({ group: -1 }), /^attribute 'group' of Conv node '[^']+' is -1, must be at least 1$/);
    refused(conv({ group: 0 }), /^attribute 'group' of Conv node '[^']+' is 0, must be at least 1$/);
    refused(
      conv({}, [{ shape: [1, 3, 8, 8] }, w]),
      /^Conv node '[^']+': input 'x0' has 3 channels, but weight 'w1' \[6,4,3,3\] with group 1 takes 4$/,
    );
    refused(
      conv({ group: 4 }, [{ shape: [1, 4, 8, 8] }, { shape: [6, 1, 3, 3], weight: true }]),
      /^Conv node '[^']+': group 4 does not divide the 6 output channels of weight 'w1'$/,
    );
    assert.deepEqual(shapesOf('Conv', [{ shape: [1, 4, 8, 8] }, { shape: [6, 2, 3, 3], weight: true }], { group: 2 }), [[1, 6, 6, 6]]);
    refused(conv({}, [x, w, { shape: [5], weight: true }]), /^Conv node '[^']+': bias 'w2' has shape \[5\], expected \[6\]$/);
  });

  it('ConvTranspose and pooling', () => {
    const ct =
      (attributes: Record<string, AttributeInput>, weight: number[] = [4, 3, 3, 3]) =>
      () =>
        analyzeOne('ConvTranspose', [x, { shape: weight, weight: true }], attributes);
    assert.deepEqual(shapesOf('ConvTranspose', [x, { shape: [4, 3, 3, 3], weight: true }], { strides: [2, 2] }), [[1, 3, 17, 17]]);
    refused(ct({}, [5, 3, 3, 3]), /^ConvTranspose node '[^']+': input 'x0' has 4 channels, but weight 'w1' \[5,3,3,3\] takes 5$/);
    refused(ct({ group: 0 }), /^attribute 'group' of ConvTranspose node '[^']+' is 0, must be at least 1$/);
    refused(ct({ output_padding: [-1, 0] }), /attribute 'output_padding' .* every value must be at least 0$/);
    refused(ct({ output_shape: [0, 5] }), /attribute 'output_shape' \[0,5\] must end in 2 sizes of at least 1$/);
    refused(
      () => analyzeOne('MaxPool', [x], { kernel_shape: [0, 2] }),
      /^attribute 'kernel_shape' of MaxPool node '[^']+' is \[0,2\]|kernel \[0,2\] must be at least 1/,
    );
    refused(() => analyzeOne('AveragePool', [x], { kernel_shape: [2, 2], strides: [0, 0] }), /'strides' .* must be at least 1$/);
    refused(() => analyzeOne('MaxUnpool', [x, { shape: [1, 4, 8, 8], dtype: 'int64' }], { kernel_shape: [2, -2] }), /'kernel_shape'/);
  });

  it('attribute type confusion is refused: INTS where an INT is expected, FLOAT where an INT is expected', () => {
    refused(conv({ group: [1, 2] }), /^attribute 'group' of Conv node '[^']+' has type ints, expected int$/);
    refused(conv({ group: 1.5 }), /^attribute 'group' of Conv node '[^']+' has type float, expected int$/);
    refused(conv({ strides: 2 }), /^attribute 'strides' of Conv node '[^']+' has type int, expected ints$/);
    refused(() => analyzeOne('Transpose', [x], { perm: 1 }), /^attribute 'perm' of Transpose node '[^']+' has type int, expected ints$/);
  });

  it('perm must be a permutation and axes in range; a 10-million-entry perm is cut in the message', () => {
    refused(
      () => analyzeOne('Transpose', [x], { perm: [0, 1, 1, 3] }),
      /^Transpose node '[^']+': perm \[0,1,1,3\] is not a permutation of rank 4$/,
    );
    const huge = Array.from({ length: 10_000_000 }, (_, i) => i);
    refused(
      () => analyzeOne('Transpose', [x], { perm: huge }),
      /^Transpose node '[^']+': perm \[0,1,2,3,4,5,6,7,8,9,10,.*…\] is not a permutation of rank 4$/,
    );
    refused(
      () => analyzeOne('ReduceSum', [x], { axes: [4] }, { opset: 11 }),
      /^ReduceSum node '[^']+': axis 4 is out of range for rank 4$/,
    );
    refused(() => analyzeOne('Softmax', [x], { axis: -5 }), /^Softmax node '[^']+': axis -5 is out of range for rank 4$/);
    refused(() => analyzeOne('Concat', [x, x], { axis: 9 }), /axis 9 is out of range for rank 4$/);
  });

  it('outputs past 2^53 bytes are refused (Expand to 10^18 elements)', () => {
    const expand = (target: number[]) => () =>
      analyzeOne('Expand', [{ shape: [1, 1] }, { shape: [target.length], dtype: 'int64', value: target }]);
    assert.deepEqual(expand([1000, 1000])().outputs[0]!.shape, [1000, 1000]);
    refused(
      expand([1e9, 1e9]),
      /^Expand node '[^']+': the inputs and attributes give an output of float32\[1000000000,1000000000\], 4\.00e\+18 bytes, past 2\^53 bytes$/,
    );
  });

  it('a Conv of an unknown domain is never taken for the standard one: refused, or opaque with declared shapes', () => {
    const graph = (declare: boolean) => {
      const b = new GraphBuilder('domain');
      const input = b.input('x', 'float32', [1, 4, 8, 8]);
      const [y] = b.node('Conv', [input, b.weight('w', [6, 4, 3, 3])], { kernel_shape: [-5, 3] }, { domain: 'x', name: 'odd' });
      b.output(y!, 'float32', declare ? [1, 2, 3] : undefined);
      return b.build();
    };
    refused(() => analyzeGraph(graph(false)), /^unsupported operator 'Conv' of domain 'x' \(node 'odd'\)/, 'unsupported-operator');
    const model = analyzeGraph(graph(true));
    assert.equal(model.ops[0]!.opaque, true, 'kept opaque');
    assert.equal(model.ops[0]!.cost.flops, 0);
    assert.deepEqual(model.tensors.get(model.graph.outputs[0]!.name)!.shape, [1, 2, 3], 'the declared shape, not a Conv shape');
  });
});
