import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bindingsFromFlags, parseDimBinding, parseInputBinding } from './bindings.ts';

test('parseDimBinding reads name=N', () => {
  assert.deepEqual(parseDimBinding('batch=1'), { name: 'batch', value: 1 });
  assert.deepEqual(parseDimBinding('sequence = 128'), { name: 'sequence', value: 128 });
  assert.throws(() => parseDimBinding('batch'), /--dim 'batch' must look like name=N/);
  assert.throws(() => parseDimBinding('batch=0'), /'0' is not a positive integer/);
  assert.throws(() => parseDimBinding('batch=x'), /'x' is not a positive integer/);
});

test('parseInputBinding reads name:AxBxC, the last colon separating the shape', () => {
  assert.deepEqual(parseInputBinding('input_ids:1x128'), { name: 'input_ids', shape: [1, 128] });
  assert.deepEqual(parseInputBinding('serving:0:1x3x224x224'), { name: 'serving:0', shape: [1, 3, 224, 224] });
  assert.deepEqual(parseInputBinding('scalar:'), { name: 'scalar', shape: [] });
  assert.throws(() => parseInputBinding('input_ids'), /--input 'input_ids' must look like name:1x3x224x224/);
  assert.throws(() => parseInputBinding('x:1xQ'), /'Q' is not a positive integer/);
});

test('bindingsFromFlags collects repeated flags', () => {
  assert.deepEqual(bindingsFromFlags(['batch=2', 'seq=16'], ['x:2x16']), { dims: { batch: 2, seq: 16 }, inputs: { x: [2, 16] } });
});
