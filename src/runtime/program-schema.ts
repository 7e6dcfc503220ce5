import { z } from 'zod';
import { supportedOperators } from '../analysis/ops/registry.ts';
import { fail } from '../errors.ts';
import { ONNX_DTYPES, type DType } from '../ir/dtype.ts';
import { boxVolume, containsBox, sameBox } from '../partition/box.ts';
import type { Box } from '../partition/types.ts';
import type { WireAttribute, WorkerProgram } from './program.ts';
import { elementSize } from './regions.ts';

/**
 * What a worker accepts as its program (docs/runtime.md, "Security model"): a strict schema (no field it does not
 * know, no value of a type it does not expect) and the checks that bind every allocation the program can cause to
 * what it declares. Tensor-valued attributes are only references to weight slices the coordinator sends; a
 * weight's bytes never come from anywhere else, so nothing a peer sends can make a worker open a file.
 */

/** Axes and extents beyond these are no tensor a worker could hold. */
const MAX_RANK = 16;
const MAX_EXTENT = 2 ** 32;
const MAX_NAME = 4096;
export const MAX_LIST = 1 << 20;

const count = z.number().int().nonnegative();
const safeInt = z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER);
const name = z.string().max(MAX_NAME);
const extent = z.number().int().nonnegative().max(MAX_EXTENT);
const box = z.array(z.tuple([extent, extent]), { error: 'must be a box' }).max(MAX_RANK);
const list = <T extends z.ZodType>(item: T) => z.array(item).max(MAX_LIST);
const dtype = z.enum(ONNX_DTYPES.filter((d): d is DType => d !== 'undefined'));

const attribute: z.ZodType<WireAttribute> = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('int'), value: safeInt }),
  z.strictObject({ type: z.literal('float'), value: z.number() }),
  z.strictObject({ type: z.literal('string'), value: z.string().max(MAX_NAME) }),
  z.strictObject({ type: z.literal('ints'), value: list(safeInt) }),
  z.strictObject({ type: z.literal('floats'), value: list(z.number()) }),
  z.strictObject({ type: z.literal('strings'), value: list(z.string().max(MAX_NAME)) }),
  z.strictObject({ type: z.literal('tensor'), weight: name }),
]);

const node = z.strictObject({
  name,
  opType: name,
  domain: name,
  inputs: list(name),
  outputs: list(name),
  attributes: z.record(name, attribute),
});

const slice = z.strictObject({
  device: count,
  outputs: list(box),
  inputs: list(box.nullable()),
  flops: z.number().nonnegative(),
  overrides: z
    .strictObject({
      pads: list(safeInt).exactOptional(),
      group: z.number().int().positive().exactOptional(),
      shape: list(safeInt).exactOptional(),
    })
    .exactOptional(),
});

export const workerProgramSchema: z.ZodType<WorkerProgram> = z.strictObject({
  device: count,
  name,
  dtypes: z.record(name, dtype),
  weights: list(z.strictObject({ key: name, dtype, box })),
  steps: list(
    z.strictObject({
      name,
      gathers: list(
        z.strictObject({
          tensor: name,
          region: box,
          pieces: list(z.strictObject({ message: count, delivery: count, box })),
        }),
      ),
      ops: list(z.strictObject({ position: count, node, slice, weights: list(name.nullable()) })),
      uploads: list(z.strictObject({ message: count, tensor: name, parts: list(box) })),
      boundaryBytes: z.number().nonnegative(),
      assemble: list(z.strictObject({ tensor: name, region: box, share: box })).exactOptional(),
      workingBytes: count.exactOptional(),
      inPlace: z.strictObject({ input: name, output: name }).exactOptional(),
    }),
  ),
  opset: z.number().int().min(1).max(1000),
  opsetImports: z.record(name, z.number().int().min(1).max(1000)).exactOptional(),
});

/** A piece a program gathers, by `<message>:<delivery>`: the tensor it belongs to and its box. */
export interface DeclaredPiece {
  tensor: string;
  box: Box;
  bytes: number;
}

/** A checked program and the sizes it declares. */
export interface CheckedProgram {
  program: WorkerProgram;
  /** Exact byte length of each weight slice, by key. */
  weightBytes: Map<string, number>;
  pieces: Map<string, DeclaredPiece>;
}

const SUPPORTED = new Set(supportedOperators());

const mib = (n: number) => (n < 2 ** 20 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 2 ** 20).toFixed(1)} MiB`);

/**
 * Checks a program received from a coordinator (already parsed by workerProgramSchema, in the setup frame's
 * schema): every name it refers to exists, and `budgetBytes` bounds what it may make the worker hold: every weight
 * slice, gathered region and operator output alone, and all weight slices plus all gathered regions together.
 * Throws a MemoriaNovaError naming the first violation.
 */
export function checkProgram(program: WorkerProgram, budgetBytes: number): CheckedProgram {
  const dtypeOf = (tensor: string, where: string): DType => {
    if (!Object.hasOwn(program.dtypes, tensor))
      fail(`invalid program: ${where} names tensor '${tensor}', which has no dtype`, 'invalid-plan');
    return program.dtypes[tensor]!;
  };
  const bytesOf = (b: Box, type: DType, tensor: string) => boxVolume(b) * elementSize(type, tensor);
  const bounded = (bytes: number, what: string) => {
    if (bytes > budgetBytes)
      fail(`invalid program: ${what} needs ${mib(bytes)}, above this worker's memory limit ${mib(budgetBytes)}`, 'invalid-plan');
    return bytes;
  };

  const weightBytes = new Map<string, number>();
  let total = 0;
  for (const w of program.weights) {
    if (weightBytes.has(w.key)) fail(`invalid program: weight slice '${w.key}' is listed twice`, 'invalid-plan');
    const bytes = bounded(bytesOf(w.box, w.dtype, w.key), `weight slice '${w.key}'`);
    weightBytes.set(w.key, bytes);
    total += bytes;
  }
  const knownWeight = (key: string, where: string) => {
    if (!weightBytes.has(key))
      fail(`invalid program: ${where} refers to weight slice '${key}', which the program does not list`, 'invalid-plan');
  };

  const pieces = new Map<string, DeclaredPiece>();
  for (const step of program.steps) {
    for (const gather of step.gathers) {
      const type = dtypeOf(gather.tensor, `step '${step.name}'`);
      total += bounded(bytesOf(gather.region, type, gather.tensor), `the region of '${gather.tensor}' gathered by step '${step.name}'`);
      for (const piece of gather.pieces) {
        const key = `${piece.message}:${piece.delivery}`;
        if (piece.box.length !== gather.region.length || !containsBox(gather.region, piece.box))
          fail(`invalid program: piece ${key} of '${gather.tensor}' lies outside the region it is gathered into`, 'invalid-plan');
        if (pieces.has(key)) fail(`invalid program: piece ${key} is gathered twice`, 'invalid-plan');
        pieces.set(key, { tensor: gather.tensor, box: piece.box, bytes: bytesOf(piece.box, type, gather.tensor) });
      }
    }
    for (const op of step.ops) {
      const n = op.node;
      if ((n.domain !== '' && n.domain !== 'ai.onnx') || !SUPPORTED.has(n.opType))
        fail(
          `invalid program: operator '${n.name}' has type '${n.domain === '' ? '' : `${n.domain}.`}${n.opType}', which the runtime does not run`,
          'invalid-plan',
        );
      if (
        op.weights.length !== n.inputs.length ||
        op.slice.inputs.length !== n.inputs.length ||
        op.slice.outputs.length !== n.outputs.length
      )
        fail(`invalid program: the slice of operator '${n.name}' does not match its inputs and outputs`, 'invalid-plan');
      op.weights.forEach((key) => key !== null && knownWeight(key, `operator '${n.name}'`));
      for (const [attr, value] of Object.entries(n.attributes))
        if (value.type === 'tensor') knownWeight(value.weight, `attribute '${attr}' of '${n.name}'`);
      n.inputs.forEach((tensor, j) => {
        if (tensor !== '' && op.weights[j] === null && op.slice.inputs[j] !== null) dtypeOf(tensor, `operator '${n.name}'`);
      });
      n.outputs.forEach((tensor, k) => {
        if (tensor === '') return;
        bounded(bytesOf(op.slice.outputs[k]!, dtypeOf(tensor, `operator '${n.name}'`), tensor), `output '${tensor}' of '${n.name}'`);
      });
    }
    for (const upload of step.uploads) dtypeOf(upload.tensor, `an upload of step '${step.name}'`);
    for (const a of step.assemble ?? []) {
      const type = dtypeOf(a.tensor, `step '${step.name}'`);
      total += bounded(bytesOf(a.region, type, a.tensor), `the region of '${a.tensor}' assembled by step '${step.name}'`);
      const computed = step.ops.flatMap((op) => op.node.outputs.flatMap((t, k) => (t === a.tensor ? [op.slice.outputs[k]!] : [])));
      if (computed.length === 0)
        fail(`invalid program: step '${step.name}' assembles '${a.tensor}', which it does not compute`, 'invalid-plan');
      if (
        a.share.length !== a.region.length ||
        !containsBox(a.region, a.share) ||
        a.share.length !== computed[0]!.length ||
        !containsBox(computed[0]!, a.share)
      )
        fail(
          `invalid program: the share of '${a.tensor}' step '${step.name}' assembles lies outside what it computes or the region`,
          'invalid-plan',
        );
    }
    if (step.workingBytes !== undefined) bounded(step.workingBytes, `the working set of step '${step.name}'`);
    if (step.inPlace !== undefined) {
      const { input, output } = step.inPlace;
      if (dtypeOf(input, `step '${step.name}'`) !== dtypeOf(output, `step '${step.name}'`))
        fail(`invalid program: step '${step.name}' writes '${output}' in place of '${input}', of another dtype`, 'invalid-plan');
      if (!step.ops.some((op) => op.node.outputs.includes(output)) || !step.ops[0]!.node.inputs.includes(input))
        fail(
          `invalid program: step '${step.name}' writes '${output}' in place of '${input}': it must compute the one and its first operator read the other`,
          'invalid-plan',
        );
    }
  }
  bounded(total, 'the program (its weight slices and gathered regions together)');
  return { program, weightBytes, pieces };
}

/** Checks a received piece against its declaration; returns the reason it is refused, or null. */
export function pieceMismatch(declared: DeclaredPiece | undefined, box: Box, bytes: number): string | null {
  if (declared === undefined) return 'its program gathers no such piece';
  if (!sameBox(declared.box, box)) return 'its box is not the one the program gathers';
  if (bytes !== declared.bytes) return `it has ${bytes} bytes, expected ${declared.bytes}`;
  return null;
}
