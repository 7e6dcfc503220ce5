import { fail } from '../errors.ts';

/**
 * How much a model file may make the importer build. A file of a few bytes can declare a sparse tensor of
 * billions of elements or functions that call each other into billions of nodes; these limits refuse such files
 * before anything is allocated. Each is adjustable (docs/onnx-import.md, "Limits"; CLI flags in brackets).
 */
export interface ImportLimits {
  /** Nodes of the main graph once model-local functions are expanded (--max-nodes). */
  maxNodes: number;
  /** How deep model-local function calls may nest (--max-function-depth). */
  maxFunctionDepth: number;
  /** Declared bytes of any one tensor: initializer, tensor attribute or sparse initializer made dense (--max-tensor-bytes). */
  maxTensorBytes: number;
  /** Declared bytes of all tensors together, external data included (--max-total-tensor-bytes). */
  maxTotalTensorBytes: number;
  /** Bytes the sparse initializers take made dense, together; these are allocated at import (--max-sparse-bytes). */
  maxSparseBytes: number;
}

export const DEFAULT_IMPORT_LIMITS: Readonly<ImportLimits> = Object.freeze({
  maxNodes: 250_000,
  maxFunctionDepth: 32,
  maxTensorBytes: 2 ** 32,
  maxTotalTensorBytes: 2 ** 35,
  maxSparseBytes: 2 ** 28,
});

export const LIMIT_FLAGS: Readonly<Record<keyof ImportLimits, string>> = Object.freeze({
  maxNodes: '--max-nodes',
  maxFunctionDepth: '--max-function-depth',
  maxTensorBytes: '--max-tensor-bytes',
  maxTotalTensorBytes: '--max-total-tensor-bytes',
  maxSparseBytes: '--max-sparse-bytes',
});

export function importLimits(overrides: Partial<ImportLimits> = {}): ImportLimits {
  const limits = { ...DEFAULT_IMPORT_LIMITS };
  for (const key of Object.keys(LIMIT_FLAGS) as (keyof ImportLimits)[]) {
    const value = overrides[key];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 1) fail(`import limit ${key} must be a positive integer, got ${value}`, 'usage');
    limits[key] = value;
  }
  return limits;
}

/** "over the limit of N (--flag)", the tail of every limit error. */
export function overLimit(limits: ImportLimits, key: keyof ImportLimits): string {
  return `over the limit of ${limits[key]} (${LIMIT_FLAGS[key]})`;
}

/** A count as digits while it is exact, else in exponent form (an amplifier's node count can pass 2^53). */
export function count(n: number): string {
  return Number.isSafeInteger(n) ? String(n) : n.toExponential(2);
}

/**
 * The number of nodes in a serialized ModelProto's main graph, counted on the wire without decoding, so a file of
 * millions of nodes is refused before protobufjs builds an object per node. Undefined when the bytes do not parse
 * (the decoder then reports the corruption).
 */
export function countGraphNodes(bytes: Uint8Array): number | undefined {
  const graph = findField(bytes, 0, bytes.length, 7);
  if (graph === undefined) return undefined;
  let nodes = 0;
  const ok = scanFields(bytes, graph.start, graph.end, (field) => {
    if (field === 1) nodes++;
  });
  return ok ? nodes : undefined;
}

function findField(bytes: Uint8Array, start: number, end: number, wanted: number): { start: number; end: number } | undefined {
  let found: { start: number; end: number } | undefined;
  const ok = scanFields(bytes, start, end, (field, from, to) => {
    if (field === wanted) found = { start: from, end: to };
  });
  return ok ? found : undefined;
}

/** Walks the fields of one message; `visit` gets each length-delimited field's number and extent. */
function scanFields(bytes: Uint8Array, start: number, end: number, visit: (field: number, from: number, to: number) => void): boolean {
  let at = start;
  const varint = (): number => {
    let value = 0;
    for (let shift = 0; shift < 64; shift += 7) {
      if (at >= end) return NaN;
      const byte = bytes[at++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
    return NaN;
  };
  while (at < end) {
    const tag = varint();
    if (!Number.isFinite(tag)) return false;
    const field = Math.floor(tag / 8);
    switch (tag % 8) {
      case 0:
        if (!Number.isFinite(varint())) return false;
        break;
      case 1:
        at += 8;
        break;
      case 2: {
        const length = varint();
        if (!Number.isFinite(length) || at + length > end) return false;
        visit(field, at, at + length);
        at += length;
        break;
      }
      case 5:
        at += 4;
        break;
      default:
        return false;
    }
  }
  return at === end;
}
