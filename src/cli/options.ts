import type { Command } from 'commander';
import { bindingsFromFlags } from '../analysis/analyze.ts';
import { fail } from '../errors.ts';
import type { Model } from '../ir/graph.ts';
import { loadModel, type LoadOptions } from '../model/load.ts';

export function positiveInteger(option: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < 1) fail(`${option} must be a positive integer, got '${value}'`, 'usage');
    return n;
  };
}

export function positiveNumber(option: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) fail(`${option} must be a positive number, got '${value}'`, 'usage');
    return n;
  };
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export interface ModelFlags {
  dim?: string[];
  input?: string[];
  batch?: number;
  seqLen?: number;
  layers?: number;
}

/** The flags every command that takes a model accepts: shape bindings for files, size options for the zoo. */
export function addModelOptions(command: Command): Command {
  return command
    .option('--dim <name=value>', 'bind a symbolic dimension of the model inputs (repeatable)', collect)
    .option('--input <name:AxBxC>', "bind a whole input's shape (repeatable)", collect)
    .option('--batch <n>', 'built-in models: batch size', positiveInteger('--batch'))
    .option('--seq-len <n>', 'built-in transformers: tokens per sequence', positiveInteger('--seq-len'))
    .option('--layers <n>', 'built-in transformers: keep only the first n layers', positiveInteger('--layers'));
}

export function loadOptionsFrom(flags: ModelFlags): LoadOptions {
  const options: LoadOptions = { bindings: bindingsFromFlags(flags.dim ?? [], flags.input ?? []) };
  if (flags.batch !== undefined) options.batch = flags.batch;
  if (flags.seqLen !== undefined) options.seqLen = flags.seqLen;
  if (flags.layers !== undefined) options.layers = flags.layers;
  return options;
}

export function loadModelFromFlags(spec: string, flags: ModelFlags): Model {
  return loadModel(spec, loadOptionsFrom(flags));
}

export function megabytes(bytes: number, digits = 2): string {
  return `${(bytes / 1e6).toFixed(digits)} MB`;
}

/** A plain text table: left-aligned first column, right-aligned numbers. */
export function formatTable(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((row) => row.map(String))];
  const widths = headers.map((_, c) => Math.max(...cells.map((row) => (row[c] ?? '').length)));
  const line = (row: string[]) =>
    row
      .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
      .join('  ')
      .trimEnd();
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}
