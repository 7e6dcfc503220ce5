import { existsSync, statSync } from 'node:fs';
import { analyzeGraph, type ShapeBindings } from '../analysis/analyze.ts';
import { unusedDimBindings } from '../analysis/bindings.ts';
import { fail } from '../errors.ts';
import type { Graph, Model, ModelOptions } from '../ir/graph.ts';
import type { ImportLimits } from '../onnx/limits.ts';
import { readModelFile } from '../onnx/read.ts';
import { ZOO, zooEntry } from '../zoo/index.ts';

export interface LoadOptions {
  bindings?: ShapeBindings;
  /** Zoo models only: batch size, sequence length and a layer-count override (transformers). */
  batch?: number;
  seqLen?: number;
  layers?: number;
  /** A dimension binding that names no dimension of the inputs is an error, not a warning (the CLI's choice). */
  strictBindings?: boolean;
  /** Model files only: what the import may build (DEFAULT_IMPORT_LIMITS where absent). */
  limits?: Partial<ImportLimits>;
}

/** The zoo-only size options and their command-line flags. */
const ZOO_ONLY_OPTIONS = [
  ['batch', '--batch'],
  ['seqLen', '--seq-len'],
  ['layers', '--layers'],
] as const;

/** True when the spec names a file rather than a built-in model. */
export function isModelFile(spec: string): boolean {
  if (spec.endsWith('.onnx') || spec.includes('/')) return true;
  // A folder named like a built-in model (`resnet50/` holding its deploy bundle) does not hide the model.
  return existsSync(spec) && (!ZOO.some((e) => e.name === spec) || statSync(spec).isFile());
}

/** The raw graph behind a model spec: a built-in zoo name or a path to an .onnx file. */
export function loadGraph(spec: string, options: LoadOptions = {}): Graph {
  if (isModelFile(spec)) {
    const zooOnly = ZOO_ONLY_OPTIONS.filter(([key]) => options[key] !== undefined).map(([, flag]) => flag);
    if (zooOnly.length > 0)
      fail(
        `${zooOnly.join(', ')} ${zooOnly.length === 1 ? 'is' : 'are'} for built-in models; a model file's shapes are bound with --dim name=value or --input name:AxB`,
        'usage',
      );
    if (!existsSync(spec)) fail(`model file '${spec}' does not exist`);
    if (!statSync(spec).isFile()) fail(`model path '${spec}' is not a file`);
    return readModelFile(spec, options.limits);
  }
  const entry = zooEntry(spec);
  const buildOptions: { batch?: number; seqLen?: number; layers?: number } = {};
  if (options.batch !== undefined) buildOptions.batch = options.batch;
  if (options.seqLen !== undefined) buildOptions.seqLen = options.seqLen;
  if (options.layers !== undefined) buildOptions.layers = options.layers;
  return entry.build(buildOptions);
}

/** Loads and analyses a model: folded graph, static shapes, per-operator costs. */
export function loadModel(spec: string, options: LoadOptions = {}): Model {
  const graph = loadGraph(spec, options);
  if (options.strictBindings === true && options.bindings !== undefined) {
    const unused = unusedDimBindings(graph, options.bindings);
    if (unused.length > 0) {
      const symbolic = [...new Set(graph.inputs.flatMap((i) => (i.shape ?? []).filter((d) => typeof d === 'string')))];
      fail(
        `--dim ${unused[0]}=${options.bindings.dims![unused[0]!]} names no dimension of the model's inputs (${
          symbolic.length > 0 ? `its symbolic dimensions: ${symbolic.join(', ')}` : 'they have no symbolic dimensions'
        })`,
        'usage',
      );
    }
  }
  const name = isModelFile(spec) ? graph.name || spec : spec;
  const model = analyzeGraph(graph, options.bindings === undefined ? { name } : { name, bindings: options.bindings });
  const shaping = modelOptionsOf(options);
  if (Object.keys(shaping).length > 0) model.options = shaping;
  return model;
}

/** The options among `options` that shape the model (ModelOptions), empty ones left out. */
export function modelOptionsOf(options: LoadOptions): ModelOptions {
  const shaping: ModelOptions = {};
  if (options.batch !== undefined) shaping.batch = options.batch;
  if (options.seqLen !== undefined) shaping.seqLen = options.seqLen;
  if (options.layers !== undefined) shaping.layers = options.layers;
  const { dims, inputs } = options.bindings ?? {};
  if (dims !== undefined && Object.keys(dims).length > 0) shaping.dims = { ...dims };
  if (inputs !== undefined && Object.keys(inputs).length > 0) shaping.inputs = { ...inputs };
  return shaping;
}
