import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { describeIssue } from '../cluster/schema.ts';
import { fail } from '../errors.ts';
import type { Model } from '../ir/graph.ts';
import { weightBytesOf } from '../memory/graph.ts';
import { modelFingerprint } from '../model/fingerprint.ts';
import { partitionContext } from '../partition/context.ts';
import type { FitGroup, FitResult } from './fit.ts';
import { fitMemory, planMemory, type FitMemory, type Segment } from './memory.ts';
import { tileablePositions } from './space.ts';
import { exitsOf, gridLimit, tileGroupWith, viewsFit, type Grid, type HaloMode } from './tiles.ts';

/** The fit plan file (docs/fit.md, "Plan file"): the order and every group of the chosen execution. */
export interface FitPlanFile {
  format: 'memorianova-fit';
  version: 1;
  model: string;
  fingerprint: string;
  device: string;
  limitBytes: number;
  peakBytes: number;
  latencyMs: number;
  includeWeights: boolean;
  /** Element-wise operators reuse a dying input of their size (docs/memory.md); files without it were written with it on. */
  inplace?: boolean;
  /** The halo modes the fit searched (`fit --halo`); files without it recompute every halo. */
  halo?: HaloMode;
  order: string[];
  /** Spatial groups (no kind) with their grid; token chunk groups (kind `tokens`) with their number of chunks. */
  groups: Array<
    | { first: string; last: string; rows: number; cols: number; halo?: 'cache' }
    | { kind: 'tokens'; first: string; last: string; chunks: number }
  >;
}

/** The plan file of the chosen execution (the least-peak one when nothing fits). */
export function fitPlanOf(result: FitResult): FitPlanFile {
  const e = result.best ?? result.leastPeak;
  return {
    format: 'memorianova-fit',
    version: 1,
    model: result.model,
    fingerprint: result.fingerprint,
    device: result.device,
    limitBytes: result.limitBytes,
    peakBytes: e.peakBytes,
    latencyMs: e.latencyMs,
    includeWeights: result.includeWeights,
    inplace: result.inplace,
    halo: result.halo,
    order: e.order,
    groups: e.groups.map(planGroupOf),
  };
}

/** A group as the plan file states it: a spatial group's grid, a token chunk group's kind and chunks. */
export function planGroupOf(g: FitGroup): FitPlanFile['groups'][number] {
  return g.kind === 'tokens'
    ? { kind: 'tokens', first: g.first, last: g.last, chunks: g.rows }
    : { first: g.first, last: g.last, rows: g.rows, cols: g.cols, ...(g.halo === 'cache' ? { halo: 'cache' as const } : {}) };
}

/** Group kinds `run` executes: spatial tile groups (a group without a kind is one) and token chunk groups. */
const KNOWN_KINDS = ['spatial', 'tokens'];

const grid = z.number().int().min(1).max(4096);
const fitPlanSchema = z.strictObject({
  format: z.literal('memorianova-fit'),
  version: z.literal(1),
  model: z.string(),
  fingerprint: z.string(),
  device: z.string(),
  limitBytes: z.number().nonnegative(),
  peakBytes: z.number().nonnegative(),
  latencyMs: z.number().nonnegative(),
  includeWeights: z.boolean(),
  inplace: z.boolean().exactOptional(),
  halo: z.enum(['recompute', 'cache']).exactOptional(),
  order: z.array(z.string()),
  // Other fields of a group (a kind this reader does not know may bring its own) are checked after the kind.
  groups: z.array(z.looseObject({ kind: z.string().exactOptional() })),
});

const groupSchema = z.strictObject({
  kind: z.literal('spatial').exactOptional(),
  first: z.string(),
  last: z.string(),
  rows: grid,
  cols: grid,
  halo: z.enum(['recompute', 'cache']).exactOptional(),
});

const chunkGroupSchema = z.strictObject({
  kind: z.literal('tokens'),
  first: z.string(),
  last: z.string(),
  chunks: grid,
});

/** Whether parsed JSON is a fit plan (its `format`), before it is checked. */
export function isFitPlan(raw: unknown): boolean {
  return raw !== null && typeof raw === 'object' && (raw as { format?: unknown }).format === 'memorianova-fit';
}

/** A fit plan checked against its model: the file, the order's memory and the pieces runFit and the runtime execute. */
export interface LoadedFitPlan {
  file: FitPlanFile;
  memory: FitMemory;
  segments: Segment[];
  weightBytes: number;
}

/**
 * Checks a fit plan against the model (docs/fit.md, "Plan file"): the model's fingerprint, the order (every operator
 * once, producers first), each group (a known kind, operators of the order, all tileable, a grid its exits allow),
 * and that the memory model gives the group structure exactly the peak the file states. `where` names the file.
 */
export function loadFitPlan(raw: unknown, model: Model, where: string): LoadedFitPlan {
  const parsed = fitPlanSchema.safeParse(raw);
  if (!parsed.success) fail(`${where}: ${describeIssue(parsed.error)}`, 'invalid-plan');
  const head = parsed.data;
  const fingerprint = modelFingerprint(model);
  if (head.fingerprint !== fingerprint)
    fail(
      `${where} was made for model '${head.model}' (fingerprint ${head.fingerprint.slice(0, 12)}…), not for '${model.name}' (fingerprint ${fingerprint.slice(0, 12)}…)`,
      'invalid-plan',
    );
  const ctx = partitionContext(model, head.order);
  const inplace = head.inplace ?? true;
  const groups = head.groups.map((raw, i) => {
    const kind = raw.kind;
    if (kind !== undefined && !KNOWN_KINDS.includes(kind))
      fail(
        `${where}: group ${i + 1} is of kind '${kind}', which run does not execute (it runs ${KNOWN_KINDS.join(', ')} tile groups)`,
        'invalid-plan',
      );
    if (kind === 'tokens') {
      const group = chunkGroupSchema.safeParse(raw);
      if (!group.success) fail(`${where}: groups[${i}]: ${describeIssue(group.error)}`, 'invalid-plan');
      const { first, last, chunks } = group.data;
      return { first, last, grid: { rows: chunks, cols: 1, kind: 'tokens' as const }, halo: 'recompute' as HaloMode };
    }
    const group = groupSchema.safeParse(raw);
    if (!group.success) fail(`${where}: groups[${i}]: ${describeIssue(group.error)}`, 'invalid-plan');
    const { first, last, rows, cols, halo } = group.data;
    return { first, last, grid: { rows, cols } as Grid, halo: halo ?? 'recompute' };
  });
  const tileable = tileablePositions(ctx);
  const segments: Segment[] = [];
  let next = 0;
  const untiledUpTo = (p: number) => {
    for (; next < p; next++) segments.push({ first: next, tiling: null });
  };
  groups.forEach((g, i) => {
    const name = `${where}: group ${i + 1} (${g.first} .. ${g.last})`;
    const first = ctx.position.get(g.first);
    const last = ctx.position.get(g.last);
    if (first === undefined || last === undefined) fail(`${name} names an operator the order does not have`, 'invalid-plan');
    if (first < next || last < first) fail(`${name} overlaps the group before it or ends before it starts`, 'invalid-plan');
    const tokens = g.grid.kind === 'tokens';
    if (tokens !== (ctx.layout.kind !== 'cnn'))
      fail(
        `${name}: a ${tokens ? 'token chunk' : 'spatial'} group does not apply to a ${ctx.layout.kind === 'cnn' ? 'CNN' : 'sequence model'}`,
        'invalid-plan',
      );
    for (let p = first; p <= last; p++)
      if (!tileable[p]) fail(`${name}: operator '${ctx.order[p]}' cannot be ${tokens ? 'chunked' : 'tiled'}`, 'invalid-plan');
    const exits = exitsOf(ctx, first, last);
    const limit = gridLimit(ctx, exits, first, g.grid.kind);
    if (tokens && g.grid.rows > limit.rows)
      fail(`${name}: ${g.grid.rows} chunks exceed what its outputs allow (${limit.rows})`, 'invalid-plan');
    if (!tokens && (g.grid.rows > limit.rows || g.grid.cols > limit.cols))
      fail(`${name}: grid ${g.grid.rows}x${g.grid.cols} exceeds what its outputs allow (${limit.rows}x${limit.cols})`, 'invalid-plan');
    if (tokens && !viewsFit(ctx, exits, first, last))
      fail(`${name}: a view in it is an output of the group or reads a tensor made before the group`, 'invalid-plan');
    if (g.halo === 'cache' && head.halo !== 'cache')
      fail(`${name} caches its halos, but the plan says halos are recomputed (no "halo": "cache")`, 'invalid-plan');
    if (g.halo === 'cache' && g.grid.rows < 2) fail(`${name}: a group caching its halos needs at least 2 tile rows`, 'invalid-plan');
    untiledUpTo(first);
    segments.push({ first, tiling: tileGroupWith(ctx, first, last, g.grid, g.halo) });
    next = last + 1;
  });
  untiledUpTo(ctx.order.length);
  const memory = fitMemory(ctx, inplace);
  const weightBytes = weightBytesOf(model);
  const peak = planMemory(memory, segments, head.includeWeights, weightBytes).peakBytes;
  if (peak !== head.peakBytes)
    fail(
      `${where}: its groups peak at ${peak} bytes under the memory model, the file says ${head.peakBytes} (written by another version, or edited)`,
      'invalid-plan',
    );
  return { file: head as FitPlanFile, memory, segments, weightBytes };
}

/** Whether the file at `path` is JSON of a fit plan (its `format`); anything unreadable is left to the plan reader. */
export function isFitPlanFile(path: string): boolean {
  try {
    return isFitPlan(JSON.parse(readFileSync(path, 'utf8')));
  } catch {
    return false;
  }
}

/** Reads and checks a fit plan file (loadFitPlan). */
export function readFitPlan(path: string, model: Model): LoadedFitPlan {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    fail(`fit plan ${path}: cannot be read as JSON (${(error as Error).message.split('\n')[0]})`, 'invalid-plan');
  }
  return loadFitPlan(raw, model, `fit plan ${path}`);
}
