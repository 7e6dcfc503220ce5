import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { MemoriaNovaError } from '../errors.ts';
import type { Graph } from '../ir/graph.ts';
import { readModelFile } from '../onnx/read.ts';
import { readTensorFile, type TensorFile } from '../onnx/tensor.ts';
import { analyzeGraph } from './analyze.ts';
import { opDefinition, supportedOperators } from './ops/registry.ts';

/** Where Debian's libonnx-testdata puts ONNX's conformance tests. */
export const ONNX_TESTDATA = '/usr/share/libonnx-testdata/data';

/**
 * Its folders of one-model tests with input and expected output tensors: the per-operator node tests, and the
 * PyTorch-exported operator and module tests (opsets 6 to 9, legacy broadcasting).
 */
export const TEST_FOLDERS = ['node', 'pytorch-converted', 'pytorch-operator', 'simple'];

export interface ConformanceResult {
  /** Operator types the analysis supports. */
  operators: number;
  passed: string[];
  failed: { test: string; reason: string }[];
  /** Tests using an operator the analysis does not claim to support, with the first such operator. */
  skipped: { test: string; operator: string }[];
  /** Models outside the IR (sequence or optional graph inputs, training-only domains), with the importer's error. */
  notImportable: { test: string; reason: string }[];
}

/**
 * Tensors whose values decide output shapes: an operator's `valueInputs`, and transitively every input of the
 * nodes computing them (a window size that goes through Cast before Range). The test feeds such graph inputs
 * as constants.
 */
function valueInputNames(graph: Graph): Set<string> {
  const names = new Set<string>();
  for (const node of graph.nodes) {
    for (const index of opDefinition(node)?.valueInputs ?? []) {
      const name = node.inputs[index];
      if (name !== undefined && name !== '') names.add(name);
    }
  }
  for (const node of [...graph.nodes].reverse()) {
    if (node.outputs.some((o) => names.has(o))) for (const input of node.inputs) if (input !== '') names.add(input);
  }
  return names;
}

/**
 * Binds the graph inputs to the test's input tensors: shapes for all (the data's shape wins over a contradicting
 * declaration: a few tests declare [3,4] and feed [1]), and values for the inputs that exporters would make
 * constants (shape, axes, pads, scales...), which become inline initializers.
 */
function bindTestInputs(graph: Graph, tensors: TensorFile[]): Record<string, number[]> {
  const constants = valueInputNames(graph);
  const shapes: Record<string, number[]> = {};
  graph.inputs.forEach((input, i) => {
    const tensor = tensors[i];
    if (tensor === undefined) return;
    if (constants.has(input.name) && tensor.dtype !== 'string') {
      graph.initializers.set(input.name, {
        name: input.name,
        dtype: tensor.dtype,
        shape: tensor.shape,
        data: { kind: 'inline', bytes: tensor.bytes },
      });
    } else {
      shapes[input.name] = tensor.shape;
    }
  });
  graph.inputs = graph.inputs
    .filter((input) => shapes[input.name] !== undefined)
    .map((input) => ({ name: input.name, dtype: input.dtype }));
  return shapes;
}

function dataFiles(folder: string, prefix: string): string[] {
  if (!existsSync(folder)) return [];
  return readdirSync(folder)
    .filter((f) => f.startsWith(prefix) && f.endsWith('.pb'))
    .sort((a, b) => Number(a.slice(prefix.length, -3)) - Number(b.slice(prefix.length, -3)))
    .map((f) => join(folder, f));
}

function message(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0]! : String(error);
}

/** Checks one test folder; returns undefined when it passes, else the reason. */
function checkTest(folder: string, graph: Graph): string | undefined {
  const data = join(folder, 'test_data_set_0');
  const inputs = dataFiles(data, 'input_').map(readTensorFile);
  const expected = dataFiles(data, 'output_').map(readTensorFile);
  const model = analyzeGraph(graph, { bindings: { inputs: bindTestInputs(graph, inputs) } });
  const problems: string[] = [];
  graph.outputs.forEach((output, i) => {
    const want = expected[i];
    if (want === undefined) return;
    const got = model.tensors.get(output.name)?.shape;
    // ONNX's test data stores bfloat16 tensors with data type uint16 (same 2 bytes per element).
    const gotType = model.tensors.get(output.name)?.dtype;
    const wantType = want.dtype === 'uint16' && gotType === 'bfloat16' ? 'bfloat16' : want.dtype;
    if (gotType !== wantType) problems.push(`output '${output.name}': inferred type ${gotType}, expected ${want.dtype}`);
    if (got === undefined || got.join(',') !== want.shape.join(','))
      problems.push(`output '${output.name}': inferred [${got?.join(',') ?? '?'}], expected [${want.shape.join(',')}]`);
  });
  return problems.length === 0 ? undefined : problems.join('; ');
}

/**
 * ONNX's operator conformance tests as a check of shape inference: for every test whose operators are all
 * supported, the inferred output shapes (and element types) must equal those of the expected output tensors.
 */
export function runConformance(root = ONNX_TESTDATA): ConformanceResult {
  const result: ConformanceResult = { operators: supportedOperators().length, passed: [], failed: [], skipped: [], notImportable: [] };
  const tests = TEST_FOLDERS.filter((f) => existsSync(join(root, f))).flatMap((f) =>
    readdirSync(join(root, f), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => `${f}/${e.name}`)
      .sort(),
  );
  for (const test of tests) {
    const folder = join(root, test);
    let graph: Graph;
    try {
      graph = readModelFile(join(folder, 'model.onnx'));
    } catch (error) {
      result.notImportable.push({ test, reason: message(error) });
      continue;
    }
    const unsupported = graph.nodes.find((node) => node.opType !== 'Constant' && opDefinition(node) === undefined);
    if (unsupported !== undefined) {
      result.skipped.push({
        test,
        operator: unsupported.domain === '' ? unsupported.opType : `${unsupported.domain}.${unsupported.opType}`,
      });
      continue;
    }
    try {
      const reason = checkTest(folder, graph);
      if (reason === undefined) result.passed.push(test);
      else result.failed.push({ test, reason });
    } catch (error) {
      result.failed.push({
        test,
        reason: error instanceof MemoriaNovaError ? `${error.code}: ${error.message}` : `crash: ${message(error)}`,
      });
    }
  }
  return result;
}
