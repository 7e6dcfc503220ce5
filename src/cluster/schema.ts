import { z } from 'zod';
import { EXECUTION_PROVIDERS } from './types.ts';

const positive = () => z.number({ error: 'must be a number' }).positive({ error: 'must be > 0' }).finite({ error: 'must be finite' });
const nonNegative = () =>
  z.number({ error: 'must be a number' }).nonnegative({ error: 'must be >= 0' }).finite({ error: 'must be finite' });
const name = () => z.string({ error: 'must be a string' }).min(1, { error: 'must not be empty' });

const providers = () =>
  z
    .array(z.enum(EXECUTION_PROVIDERS, { error: `must be one of ${EXECUTION_PROVIDERS.join(', ')}` }), { error: 'must be a list' })
    .min(1, { error: 'must name at least one execution provider' });
const threads = () =>
  z.number({ error: 'must be a number' }).int({ error: 'must be an integer' }).min(1, { error: 'must be >= 1' }).max(256);

export const profileSchema = z.strictObject({
  format: z.literal('memorianova-profile', { error: "must be 'memorianova-profile'" }),
  version: z.literal(1, { error: 'must be 1' }),
  measuredOn: z.string().optional(),
  model: z.strictObject({ name: name(), fingerprint: name() }).optional(),
  ops: z.record(z.string(), nonNegative()).optional(),
  opTypes: z.record(z.string(), positive()).optional(),
  overheads: z
    .strictObject({
      stepMs: nonNegative(),
      msPerMiB: nonNegative(),
      splitPenalty: z.partialRecord(z.enum(['rows', 'channels', 'tokens', 'heads']), nonNegative()),
    })
    .optional(),
  executionProviders: providers().exactOptional(),
  threads: threads().exactOptional(),
});

export const deviceSchema = z.strictObject({
  name: name(),
  gflops: positive(),
  efficiency: z.record(z.string(), positive()).optional(),
  /** A path (relative to the cluster file) or the profile itself. */
  profile: z.union([name(), profileSchema], { error: 'must be a profile file path or a profile object' }).optional(),
  memoryMB: positive(),
  uplinkMbps: positive(),
  downlinkMbps: positive(),
  latencyMs: nonNegative(),
  executionProviders: providers().exactOptional(),
  threads: threads().exactOptional(),
});

export const routerSchema = z.strictObject({
  name: name().default('router'),
  forwardingMbps: positive().optional(),
  latencyMs: nonNegative().default(0),
  broadcast: z.boolean({ error: 'must be true or false' }).default(true),
});

export const clusterSchema = z.strictObject({
  name: name(),
  devices: z.array(deviceSchema, { error: 'must be a list of devices' }).min(1, { error: 'must list at least one device' }),
  router: routerSchema.default({ name: 'router', latencyMs: 0, broadcast: true }),
});

export type ClusterFile = z.infer<typeof clusterSchema>;

/** `devices[1].memoryMB: must be > 0` — the first problem zod found, as one line. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0]!;
  const path = issue.path.map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${String(part)}`)).join('');
  const message =
    issue.code === 'unrecognized_keys' ? `unknown field${issue.keys.length > 1 ? 's' : ''} '${issue.keys.join("', '")}'` : issue.message;
  return path === '' ? message : `${path}: ${message}`;
}
