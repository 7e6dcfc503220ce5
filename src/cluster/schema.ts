import { z } from 'zod';
import { EXECUTION_PROVIDERS } from './types.ts';

/** A number in [min, max]: the physically meaningful range of a cluster value (docs/cluster.md, "Ranges"). */
const within = (min: number, max: number) =>
  z
    .number({ error: 'must be a number' })
    .finite({ error: 'must be finite' })
    .min(min, { error: `must be >= ${min}` })
    .max(max, { error: `must be <= ${max}` });
/** GFLOP/s: 1 MFLOP/s to 1 PFLOP/s. */
const gflops = () => within(1e-3, 1e6);
/**
 * A profile's effective GFLOP/s of one operator type: down to 1 kFLOP/s, since a type of a few FLOPs that takes
 * microseconds (a mask's Sub) measures far below the device's rate, and emulation divides it by the slowdown.
 */
const typeGflops = () => within(1e-6, 1e6);
/** Mbit/s: 1 kbit/s to 1 Pbit/s. */
const mbps = () => within(1e-3, 1e6);
/** GB/s of memory bandwidth: 1 MB/s to 1 PB/s. */
const gbps = () => within(1e-3, 1e6);
/** Milliseconds: at most 100 s. */
const ms = () => within(0, 1e5);
/** MiB: 1 KiB to 1 EiB (2^40 MiB). */
const mib = () =>
  z
    .number({ error: 'must be a number' })
    .finite({ error: 'must be finite' })
    .min(2 ** -10, { error: 'must be >= 2^-10 (1 KiB, in MiB)' })
    .max(2 ** 40, { error: 'must be <= 2^40 (1 EiB, in MiB)' });
/** Multipliers and fractions (efficiency, split penalties). */
const factor = (min: number) => within(min, 1e3);
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
  ops: z.record(z.string(), within(0, 1e7)).optional(),
  opTypes: z.record(z.string(), typeGflops()).optional(),
  overheads: z
    .strictObject({
      stepMs: ms(),
      msPerMiB: ms(),
      splitPenalty: z.partialRecord(z.enum(['rows', 'channels', 'tokens', 'heads']), factor(0)),
    })
    .optional(),
  executionProviders: providers().exactOptional(),
  threads: threads().exactOptional(),
});

export const deviceSchema = z.strictObject({
  name: name(),
  gflops: gflops(),
  efficiency: z.record(z.string(), factor(1e-3)).optional(),
  /** A path (relative to the cluster file) or the profile itself. */
  profile: z.union([name(), profileSchema], { error: 'must be a profile file path or a profile object' }).optional(),
  memoryMB: mib(),
  uplinkMbps: mbps(),
  downlinkMbps: mbps(),
  latencyMs: ms(),
  memoryGBps: gbps().exactOptional(),
  executionProviders: providers().exactOptional(),
  threads: threads().exactOptional(),
});

export const routerSchema = z.strictObject({
  name: name().default('router'),
  forwardingMbps: mbps().optional(),
  latencyMs: ms().default(0),
  broadcast: z.boolean({ error: 'must be true or false' }).default(true),
});

export const clusterSchema = z.strictObject({
  name: name(),
  devices: z.array(deviceSchema, { error: 'must be a list of devices' }).min(1, { error: 'must list at least one device' }),
  /** switched: independent full-duplex links per device; shared: one channel (a Wi-Fi access point's airtime). */
  medium: z.enum(['switched', 'shared'], { error: "must be 'switched' or 'shared'" }).default('switched'),
  router: routerSchema.default({ name: 'router', latencyMs: 0, broadcast: true }),
});

export type ClusterFile = z.infer<typeof clusterSchema>;

/** `devices[1].memoryMB: must be > 0` — the first problem zod found, as one line. */
export function describeIssue(error: z.ZodError): string {
  return describeOne(error.issues[0]!);
}

/** Problems as one line: the problem itself, or `N problems: a; b`. */
export function describeProblems(problems: readonly string[]): string {
  return problems.length === 1 ? problems[0]! : `${problems.length} problems: ${problems.join('; ')}`;
}

/** Each problem zod found, naming its field. */
export function issueLines(error: z.ZodError): string[] {
  return error.issues.map(describeOne);
}

function describeOne(issue: z.core.$ZodIssue): string {
  const path = issue.path.map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${String(part)}`)).join('');
  const message =
    issue.code === 'unrecognized_keys' ? `unknown field${issue.keys.length > 1 ? 's' : ''} '${issue.keys.join("', '")}'` : issue.message;
  return path === '' ? message : `${path}: ${message}`;
}
