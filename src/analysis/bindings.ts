import { fail } from '../errors.ts';
import type { Dim, Graph } from '../ir/graph.ts';

/** Values for a model's dynamic input dimensions: by dimension name, or whole input shapes by input name. */
export interface ShapeBindings {
  dims?: Record<string, number>;
  inputs?: Record<string, number[]>;
}

function positiveInteger(text: string, what: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) fail(`${what}: '${text}' is not a positive integer`, 'usage');
  return Number(text);
}

/** `--dim batch=1` → { name: 'batch', value: 1 }. */
export function parseDimBinding(text: string): { name: string; value: number } {
  const match = /^([^=]+)=(.*)$/.exec(text);
  if (match === null) fail(`--dim '${text}' must look like name=N (e.g. batch=1)`, 'usage');
  return { name: match[1]!.trim(), value: positiveInteger(match[2]!.trim(), `--dim ${text}`) };
}

/** `--input input_ids:1x128` → { name: 'input_ids', shape: [1, 128] }; the name may itself contain ':'. */
export function parseInputBinding(text: string): { name: string; shape: number[] } {
  const colon = text.lastIndexOf(':');
  if (colon <= 0) fail(`--input '${text}' must look like name:1x3x224x224`, 'usage');
  const dims = text.slice(colon + 1);
  const shape = dims === '' ? [] : dims.split(/[x,]/).map((d) => positiveInteger(d.trim(), `--input ${text}`));
  return { name: text.slice(0, colon), shape };
}

/** Adds parsed `--dim`/`--input` flag values to a ShapeBindings. */
export function bindingsFromFlags(dims: string[] = [], inputs: string[] = []): ShapeBindings {
  const bindings: ShapeBindings = { dims: {}, inputs: {} };
  for (const text of dims) {
    const { name, value } = parseDimBinding(text);
    bindings.dims![name] = value;
  }
  for (const text of inputs) {
    const { name, shape } = parseInputBinding(text);
    bindings.inputs![name] = shape;
  }
  return bindings;
}

/** A declared dimension made static through the dimension bindings, or undefined when it stays symbolic. */
export function bindDim(dim: Dim, bindings: ShapeBindings): number | undefined {
  if (typeof dim === 'number') return dim >= 0 ? dim : undefined;
  return dim === '' ? undefined : bindings.dims?.[dim];
}

/**
 * Static shapes of the graph inputs: a whole-input binding wins (it must match the declared rank and fixed
 * dimensions), else symbolic dimensions are looked up by name. An unbound dimension is a 'dynamic-shape' error.
 */
export function resolveInputShapes(graph: Graph, bindings: ShapeBindings = {}): Map<string, number[]> {
  const names = new Set(graph.inputs.map((i) => i.name));
  for (const name of Object.keys(bindings.inputs ?? {})) {
    if (!names.has(name)) fail(`--input names '${name}', which is not a graph input (inputs: ${[...names].join(', ') || 'none'})`, 'usage');
  }
  const shapes = new Map<string, number[]>();
  for (const input of graph.inputs) {
    const declared = input.shape;
    if (declared === undefined && bindings.inputs?.[input.name] === undefined) {
      fail(`input '${input.name}' has an unknown rank; bind it with --input ${input.name}:1x3x224x224`, 'dynamic-shape');
    }
    const bound = bindings.inputs?.[input.name];
    if (bound !== undefined) {
      if (declared !== undefined) {
        if (declared.length !== bound.length)
          fail(
            `--input ${input.name}:${bound.join('x')} has rank ${bound.length}, but input '${input.name}' has rank ${declared.length}`,
            'usage',
          );
        declared.forEach((d, axis) => {
          if (typeof d === 'number' && d >= 0 && d !== bound[axis])
            fail(`--input ${input.name}:${bound.join('x')} gives ${bound[axis]} for axis ${axis}, but the model fixes it to ${d}`, 'usage');
        });
      }
      shapes.set(input.name, [...bound]);
      continue;
    }
    shapes.set(
      input.name,
      declared!.map((d, axis) => {
        const value = bindDim(d, bindings);
        if (value !== undefined) return value;
        const example = declared!.map((x) => (typeof x === 'number' && x >= 0 ? x : 1)).join('x');
        if (typeof d === 'string' && d !== '') {
          fail(
            `input '${input.name}' has dynamic dimension '${d}' (axis ${axis}); bind it with --dim ${d}=N or --input ${input.name}:${example}`,
            'dynamic-shape',
          );
        }
        fail(
          `input '${input.name}' has an unnamed dynamic dimension (axis ${axis}); bind it with --input ${input.name}:${example}`,
          'dynamic-shape',
        );
      }),
    );
  }
  return shapes;
}

/** `--dim` names that no graph input dimension uses (a typo, or a model with fixed shapes). */
export function unusedDimBindings(graph: Graph, bindings: ShapeBindings): string[] {
  const used = new Set(graph.inputs.flatMap((i) => (i.shape ?? []).filter((d): d is string => typeof d === 'string')));
  return Object.keys(bindings.dims ?? {}).filter((name) => !used.has(name));
}
