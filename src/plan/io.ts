import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { validateCluster } from '../cluster/load.ts';
import { describeIssue } from '../cluster/schema.ts';
import { fail } from '../errors.ts';
import type { Model, ModelOptions } from '../ir/graph.ts';
import { partitionContext } from '../partition/context.ts';
import { checkDecisions } from '../partition/slices.ts';
import { modelFingerprint } from '../model/fingerprint.ts';
import { PLAN_FORMAT, PLAN_VERSION, type Plan } from './types.ts';
import { SPLIT_DIMS } from '../partition/types.ts';

const placementSchema = z.union(
  [
    z.strictObject({ device: z.number().int({ error: 'must be an integer' }) }),
    z.strictObject({
      dim: z.enum(SPLIT_DIMS as [string, ...string[]], { error: `must be one of ${SPLIT_DIMS.join(', ')}` }),
      ratios: z.array(z.number({ error: 'must be a number' }), { error: 'must be a list of numbers' }),
    }),
    z.strictObject({
      dim: z.literal('grid'),
      rows: z.array(z.number({ error: 'must be a number' }), { error: 'must be a list of numbers' }),
      cols: z.array(z.number({ error: 'must be a number' }), { error: 'must be a list of numbers' }),
      devices: z.array(z.number({ error: 'must be a number' }).int({ error: 'must be an integer' }), {
        error: 'must be a list of device indices',
      }),
    }),
  ],
  { error: 'must be {"device": index}, {"dim": ..., "ratios": [...]} or {"dim": "grid", "rows": [...], "cols": [...], "devices": [...]}' },
);

const count = z.number({ error: 'must be a number' }).int({ error: 'must be an integer' }).positive({ error: 'must be positive' });
const modelOptionsSchema = z.strictObject({
  batch: count.optional(),
  seqLen: count.optional(),
  layers: count.optional(),
  dims: z.record(z.string(), count, { error: 'must map dimension names to sizes' }).optional(),
  inputs: z
    .record(z.string(), z.array(count, { error: 'must be a list of sizes' }), { error: 'must map input names to shapes' })
    .optional(),
});

const planSchema = z.strictObject({
  format: z.literal(PLAN_FORMAT, { error: `must be '${PLAN_FORMAT}'` }),
  version: z.literal(PLAN_VERSION, { error: `must be ${PLAN_VERSION} (this build reads plan version ${PLAN_VERSION})` }),
  method: z.string({ error: 'must be a string' }),
  model: z.strictObject({
    name: z.string({ error: 'must be a string' }),
    fingerprint: z.string({ error: 'must be a string' }),
    options: modelOptionsSchema.optional(),
  }),
  cluster: z.unknown(),
  order: z.array(z.string({ error: 'must be a string' }), { error: 'must be a list of operator names' }),
  ops: z.array(
    z.strictObject({
      op: z.string({ error: 'must be a string' }),
      placement: placementSchema,
      sync: z.boolean({ error: 'must be true or false' }),
      tiles: z
        .number({ error: 'must be a number' })
        .int({ error: 'must be an integer' })
        .min(2, { error: 'must be at least 2' })
        .optional(),
    }),
    {
      error: 'must be a list of operator decisions',
    },
  ),
});

/** Checks a parsed plan object against the model; `where` prefixes every error (one line each). */
export function validatePlan(raw: unknown, model: Model, where: string, baseDir = process.cwd()): Plan {
  const parsed = planSchema.safeParse(raw);
  if (!parsed.success) fail(`${where}: ${describeIssue(parsed.error)}`, 'invalid-plan');
  const data = parsed.data;
  const fingerprint = modelFingerprint(model);
  if (data.model.fingerprint !== fingerprint) {
    // A plan that records no model options cannot say how its model was sized: say which options to look at.
    const hint =
      data.model.options === undefined
        ? '; the plan records no model options: give the --batch, --seq-len, --layers, --dim or --input it was made with'
        : '';
    fail(
      `${where} was made for model '${data.model.name}' (fingerprint ${data.model.fingerprint}), not for '${model.name}' (fingerprint ${fingerprint})${hint}`,
      'invalid-plan',
    );
  }
  const cluster = validateCluster(data.cluster, `${where}: cluster`, baseDir);
  const plan = { ...data, cluster } as Plan;
  try {
    checkDecisions(partitionContext(model, plan.order), plan.ops, cluster.devices.length);
  } catch (error) {
    if (error instanceof Error) error.message = `${where}: ${error.message}`;
    throw error;
  }
  return plan;
}

function readPlanJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    fail(`plan file ${path}: cannot be read as JSON (${(error as Error).message.split('\n')[0]})`, 'invalid-plan');
  }
}

/** Reads a plan file and validates it against the model (fingerprint, operator names, ratios, fusion rules). */
export function readPlan(path: string, model: Model): Plan {
  return validatePlan(readPlanJson(path), model, `plan file ${path}`, dirname(resolve(path)));
}

/** The model a plan names, read before the model is loaded: its name and the options it was loaded with. */
export interface PlanModelRecord {
  name?: string;
  /** Undefined for plans written before the options were recorded. */
  options?: ModelOptions;
}

/**
 * The model a plan file or plan object was made for (PlanModelRecord), so it can be rebuilt the same way; a
 * malformed options record is a one-line error.
 */
export function planModel(plan: string | unknown, where = `plan file ${String(plan)}`): PlanModelRecord {
  const raw = typeof plan === 'string' ? readPlanJson(plan) : plan;
  const model = (raw as { model?: { name?: unknown; options?: unknown } } | null)?.model;
  const record: PlanModelRecord = typeof model?.name === 'string' ? { name: model.name } : {};
  if (model?.options === undefined) return record;
  const parsed = modelOptionsSchema.safeParse(model.options);
  if (!parsed.success) fail(`${where}: model.options: ${describeIssue(parsed.error)}`, 'invalid-plan');
  return { ...record, options: parsed.data as ModelOptions };
}

/** The plan as JSON text: two-space indented, one operator decision per line. */
export function formatPlan(plan: Plan): string {
  const { ops, ...head } = plan;
  const headText = JSON.stringify(head, null, 2);
  const opsText = ops.map((op) => `    ${JSON.stringify(op)}`).join(',\n');
  return `${headText.slice(0, -2)},\n  "ops": [\n${opsText}\n  ]\n}\n`;
}

export function writePlan(path: string, plan: Plan): void {
  writeFileSync(path, formatPlan(plan));
}
