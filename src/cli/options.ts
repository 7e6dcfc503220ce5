import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { bindingsFromFlags } from '../analysis/analyze.ts';
import { fail } from '../errors.ts';
import type { Model } from '../ir/graph.ts';
import { loadProfile } from '../cluster/load.ts';
import type { Cluster } from '../cluster/types.ts';
import { calibratedCluster } from '../runtime/emulate.ts';
import { isModelFile, loadModel, type LoadOptions } from '../model/load.ts';
import type { PlanModelRecord } from '../plan/io.ts';
import { DEFAULT_IMPORT_LIMITS, LIMIT_FLAGS, type ImportLimits } from '../onnx/limits.ts';

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

/** A byte count: an integer, optionally with a unit (KiB, MiB, GiB, TiB are powers of 1024; KB, MB, GB, TB of 1000). */
export function byteCount(option: string) {
  const units: Record<string, number> = {
    '': 1,
    B: 1,
    KB: 1e3,
    MB: 1e6,
    GB: 1e9,
    TB: 1e12,
    KIB: 2 ** 10,
    MIB: 2 ** 20,
    GIB: 2 ** 30,
    TIB: 2 ** 40,
  };
  return (value: string): number => {
    const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(value.trim());
    const unit = match === null ? undefined : units[match[2]!.toUpperCase()];
    const n = match === null || unit === undefined ? NaN : Math.floor(Number(match[1]) * unit);
    if (!Number.isSafeInteger(n) || n < 1)
      fail(`${option} must be a positive byte count such as 1000000, 512MiB or 4GB, got '${value}'`, 'usage');
    return n;
  };
}

export interface ModelFlags {
  dim?: string[];
  input?: string[];
  batch?: number;
  seqLen?: number;
  layers?: number;
  maxNodes?: number;
  maxFunctionDepth?: number;
  maxTensorBytes?: number;
  maxTotalTensorBytes?: number;
  maxSparseBytes?: number;
}

/** The flags every command that takes a model accepts: shape bindings for files, size options for the zoo. */
export function addModelOptions(command: Command): Command {
  return command
    .option('--dim <name=value>', 'bind a symbolic dimension of the model inputs (repeatable)', collect)
    .option('--input <name:AxBxC>', "bind a whole input's shape (repeatable)", collect)
    .option('--batch <n>', 'built-in models: batch size', positiveInteger('--batch'))
    .option('--seq-len <n>', 'built-in transformers: tokens per sequence', positiveInteger('--seq-len'))
    .option('--layers <n>', 'built-in transformers: keep only the first n layers', positiveInteger('--layers'))
    .option(
      '--max-nodes <n>',
      `model files: most nodes, functions expanded (default ${DEFAULT_IMPORT_LIMITS.maxNodes})`,
      positiveInteger('--max-nodes'),
    )
    .option(
      '--max-function-depth <n>',
      `model files: deepest nesting of function calls (default ${DEFAULT_IMPORT_LIMITS.maxFunctionDepth})`,
      positiveInteger('--max-function-depth'),
    )
    .option('--max-tensor-bytes <bytes>', 'model files: largest declared tensor (default 4GiB)', byteCount('--max-tensor-bytes'))
    .option(
      '--max-total-tensor-bytes <bytes>',
      'model files: all declared tensors together (default 32GiB)',
      byteCount('--max-total-tensor-bytes'),
    )
    .option(
      '--max-sparse-bytes <bytes>',
      'model files: sparse initializers made dense, together (default 256MiB)',
      byteCount('--max-sparse-bytes'),
    );
}

export function loadOptionsFrom(flags: ModelFlags): LoadOptions {
  const options: LoadOptions = { bindings: bindingsFromFlags(flags.dim ?? [], flags.input ?? []), strictBindings: true };
  if (flags.batch !== undefined) options.batch = flags.batch;
  if (flags.seqLen !== undefined) options.seqLen = flags.seqLen;
  if (flags.layers !== undefined) options.layers = flags.layers;
  const limits: Partial<ImportLimits> = {};
  for (const key of Object.keys(LIMIT_FLAGS) as (keyof ImportLimits)[]) if (flags[key] !== undefined) limits[key] = flags[key];
  if (Object.keys(limits).length > 0) options.limits = limits;
  return options;
}

export function loadModelFromFlags(spec: string, flags: ModelFlags): Model {
  return loadModel(spec, loadOptionsFrom(flags));
}

export function mebibytes(bytes: number, digits = 2): string {
  return `${(bytes / 2 ** 20).toFixed(digits)} MiB`;
}

const SIZE_FLAGS = [
  ['batch', '--batch'],
  ['seqLen', '--seq-len'],
  ['layers', '--layers'],
] as const;

/**
 * The model a plan was made for: the options the plan records (zoo sizes, --dim, --input) fill in the flags left
 * out; a flag that contradicts the record is a one-line usage error naming it. Plans without a record (older files)
 * take the flags as given; the fingerprint check still catches a different model.
 */
export function loadModelForPlan(spec: string, flags: ModelFlags, plan: PlanModelRecord, where: string): Model {
  const options = loadOptionsFrom(flags);
  const recorded = plan.options;
  if (recorded === undefined) return loadModel(spec, options);
  // The recorded options belong to the plan's model; a built-in model of another name is not it.
  if (!isModelFile(spec) && plan.name !== undefined && plan.name !== spec)
    fail(`${where} was made for model '${plan.name}', not for '${spec}'`, 'invalid-plan');
  const contradiction = (given: string, made: string | undefined): never =>
    fail(
      `${given} contradicts ${where}, made ${made === undefined ? 'without it' : `with ${made}`}; leave it out and the plan's options are used`,
      'usage',
    );
  for (const [key, flag] of SIZE_FLAGS) {
    const given = options[key];
    const made = recorded[key];
    if (given !== undefined && given !== made) contradiction(`${flag} ${given}`, made === undefined ? undefined : `${flag} ${made}`);
    if (made !== undefined) options[key] = made;
  }
  const bindings = options.bindings ?? {};
  const dims = { ...recorded.dims };
  for (const [name, value] of Object.entries(bindings.dims ?? {})) {
    const made = recorded.dims?.[name];
    if (made !== value) contradiction(`--dim ${name}=${value}`, made === undefined ? undefined : `--dim ${name}=${made}`);
  }
  const inputs = { ...recorded.inputs };
  for (const [name, shape] of Object.entries(bindings.inputs ?? {})) {
    const made = recorded.inputs?.[name];
    if (made?.join('x') !== shape.join('x'))
      contradiction(`--input ${name}:${shape.join('x')}`, made === undefined ? undefined : `--input ${name}:${made.join('x')}`);
  }
  options.bindings = { dims, inputs };
  return loadModel(spec, options);
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

/** Creates an output folder before any work is done, so a bad path fails at once with a one-line error. */
export function makeOutputDir(path: string, option: string): string {
  try {
    mkdirSync(path, { recursive: true });
  } catch (error) {
    fail(`${option} '${path}' cannot be used as a folder: ${fsReason(error)}`, 'usage');
  }
  return path;
}

/** Checks before any work that an output file can be created: its folder exists and the path is not a folder. */
export function checkOutputFile(path: string, option: string): string {
  const folder = dirname(resolve(path));
  let reason: string | undefined;
  if (!existsSync(folder)) reason = 'its folder does not exist';
  else if (!statSync(folder).isDirectory()) reason = 'a file is in the way';
  else if (existsSync(path) && statSync(path).isDirectory()) reason = 'it is a folder';
  if (reason !== undefined) fail(`${option} '${path}' cannot be written: ${reason}`, 'usage');
  return path;
}

/** Writes one output file; a path that cannot be written is a one-line error naming it. */
export function writeOutputFile(path: string, data: string | Uint8Array): void {
  try {
    writeFileSync(path, data);
  } catch (error) {
    fail(`cannot write '${path}': ${fsReason(error)}`);
  }
}

/**
 * Writes chart files and says where, so a user can open them: on stdout after the summary, or on stderr with
 * `--json` (stdout stays one JSON object).
 */
export function writeAndTell(files: readonly (readonly [string, string | Uint8Array])[]): (json: boolean | undefined) => void {
  for (const [path, data] of files) writeOutputFile(path, data);
  const told = files.length === 0 ? '' : `wrote ${files.map(([path]) => path).join(', ')}\n`;
  return (json) => (json ? process.stderr : process.stdout).write(told);
}

function fsReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOTDIR' || code === 'EEXIST') return 'a file is in the way';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'it is a folder';
  if (code === 'ENOENT') return 'its folder does not exist';
  return (error as Error).message.split('\n')[0]!;
}

export const HOST_PROFILE_HELP =
  "profile of this machine for the model (memorianova profile): plan for the cluster as `run --local N --emulate` emulates it here, each device taking this host's measured times stretched to its speed";

/** `--host-profile FILE`: the cluster as this host emulates it for the model (calibratedCluster), else unchanged. */
export function withHostProfile(model: Model, cluster: Cluster, hostProfile: string | undefined): Cluster {
  return hostProfile === undefined ? cluster : calibratedCluster(model, cluster, loadProfile(hostProfile, `--host-profile ${hostProfile}`));
}
