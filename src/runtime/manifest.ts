import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { describeIssue } from '../cluster/schema.ts';
import { EXECUTION_PROVIDERS } from '../cluster/types.ts';
import { fail } from '../errors.ts';
import { ONNX_DTYPES, type DType } from '../ir/dtype.ts';
import type { Box } from '../partition/types.ts';

/**
 * A deployment bundle (docs/runtime.md, "Bundles"): one folder per device with its steps' ONNX sub-models and a
 * manifest.json saying, per step in order, which tensor regions arrive from where, what the sub-model's graph
 * inputs and outputs are, and which regions leave for where; plus the model fingerprint and a SHA-256 per file.
 * A worker runs its folder from the manifest alone; the top-level bundle.json lets `run --bundle` coordinate it.
 */

export const BUNDLE_FORMAT = 'memorianova-bundle';
export const BUNDLE_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';
export const BUNDLE_FILE = 'bundle.json';

const count = z.number().int().nonnegative();
const box = z.array(z.tuple([count, count]));
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, { error: 'must be 64 lowercase hex digits (SHA-256)' });
/** A file inside the device folder: a plain name, never a path that could leave it. */
const fileName = z
  .string()
  .regex(/^[A-Za-z0-9._-]+$/, { error: 'must be a plain file name' })
  .refine((n) => n !== '.' && n !== '..');
const fileEntry = z.strictObject({ file: fileName, bytes: count, sha256 });
/** A device index, or -1 for the router (graph inputs come from it, graph outputs go to it). */
const endpoint = z.number().int().min(-1);

const stepSchema = z.strictObject({
  name: z.string(),
  model: fileEntry,
  /** The sub-model's external weights, for large ones (`<model>.data` next to it). */
  data: fileEntry.optional(),
  /** Tensors assembled before the step runs: their region and the pieces that fill it, with the piece's source. */
  gathers: z.array(
    z.strictObject({
      tensor: z.string(),
      region: box,
      pieces: z.array(z.strictObject({ message: count, delivery: count, box, from: endpoint })),
    }),
  ),
  /** Graph input of the sub-model → the held tensor it is cut from and the region it covers. */
  inputs: z.array(z.strictObject({ input: z.string(), tensor: z.string(), box })),
  /** Graph output of the sub-model → the tensor it becomes and the region it holds. */
  outputs: z.array(z.strictObject({ output: z.string(), tensor: z.string(), box })),
  /** Regions uploaded after the step, and where the router delivers each of their pieces. */
  uploads: z.array(
    z.strictObject({
      message: count,
      tensor: z.string(),
      parts: z.array(box),
      to: z.array(z.strictObject({ device: endpoint, box })),
    }),
  ),
  /** Tensors no later step reads: freed after the step's uploads are cut. */
  release: z.array(z.string()),
  /**
   * A sub-tile's part (`share`) of a tensor it computes, copied into the worker's `region` of it, allocated empty before
   * the first step assembling it (a tiled stretch, docs/runtime.md "Programs").
   */
  assemble: z.array(z.strictObject({ tensor: z.string(), region: box, share: box })).optional(),
});

export const manifestSchema = z.strictObject({
  format: z.literal(BUNDLE_FORMAT),
  version: z.literal(BUNDLE_VERSION),
  model: z.strictObject({ name: z.string(), fingerprint: z.string().min(1) }),
  plan: z.strictObject({ method: z.string(), cluster: z.string() }),
  /** The device, and the execution providers and threads its sessions use (its cluster entry's; targets.ts). */
  device: z.strictObject({
    index: count,
    name: z.string().min(1),
    executionProviders: z.array(z.enum(EXECUTION_PROVIDERS)).min(1),
    threads: z.number().int().min(1).max(256),
  }),
  dtypes: z.record(z.string(), z.enum(ONNX_DTYPES.filter((d): d is DType => d !== 'undefined') as [DType, ...DType[]])),
  /** Bytes of the distinct weight slices the device's steps read (what a shipped worker would receive). */
  weightBytes: count,
  steps: z.array(stepSchema),
});

export const bundleSchema = z.strictObject({
  format: z.literal(BUNDLE_FORMAT),
  version: z.literal(BUNDLE_VERSION),
  model: z.strictObject({ name: z.string(), fingerprint: z.string().min(1) }),
  /** The plan the bundle was compiled from (a plan file's content). */
  plan: z.unknown(),
  devices: z.array(z.strictObject({ index: count, name: z.string().min(1), folder: fileName, manifest: fileEntry })),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type ManifestStep = Manifest['steps'][number];
export type BundleIndex = z.infer<typeof bundleSchema>;
export type FileEntry = z.infer<typeof fileEntry>;

/** SHA-256 of a file, read in 4 MiB chunks (sub-model weights can be large). */
export function fileSha256(path: string): string {
  const hash = createHash('sha256');
  const chunk = Buffer.allocUnsafe(4 << 20);
  const fd = openSync(path, 'r');
  try {
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      hash.update(chunk.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

export function fileEntryOf(dir: string, file: string): FileEntry {
  const path = join(dir, file);
  return { file, bytes: statSync(path).size, sha256: fileSha256(path) };
}

function readJson(path: string, what: string): unknown {
  if (!existsSync(path)) fail(`${what} '${path}' does not exist`, 'invalid-input');
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    fail(`${what} '${path}' is not JSON: ${(error as Error).message}`, 'invalid-input');
  }
}

/** Checks one file of a folder against its entry: present, of the recorded size and SHA-256. */
export function verifyFile(dir: string, entry: FileEntry, what: string): void {
  const path = join(dir, entry.file);
  if (!existsSync(path)) fail(`${what} '${path}' is missing`, 'invalid-input');
  const size = statSync(path).size;
  if (size !== entry.bytes) fail(`${what} '${path}' has ${size} bytes, ${entry.bytes} recorded: refusing to start`, 'invalid-input');
  const digest = fileSha256(path);
  if (digest !== entry.sha256)
    fail(
      `${what} '${path}' does not match its recorded SHA-256 (${digest.slice(0, 12)}… ≠ ${entry.sha256.slice(0, 12)}…): refusing to start`,
      'invalid-input',
    );
}

/** Reads a device folder's manifest and verifies every file it names (checksums and sizes); the first problem is one line. */
export function readDeviceBundle(dir: string): Manifest {
  const path = join(dir, MANIFEST_FILE);
  const parsed = manifestSchema.safeParse(readJson(path, 'bundle manifest'));
  if (!parsed.success) fail(`bundle manifest '${path}': ${describeIssue(parsed.error)}`, 'invalid-input');
  const manifest = parsed.data;
  for (const step of manifest.steps) {
    verifyFile(dir, step.model, `sub-model of step '${step.name}'`);
    if (step.data !== undefined) verifyFile(dir, step.data, `external data of step '${step.name}'`);
  }
  return manifest;
}

/** Reads a bundle's index and verifies each device's manifest file against it (the folders verify themselves). */
export function readBundleIndex(dir: string): BundleIndex {
  const path = join(dir, BUNDLE_FILE);
  const parsed = bundleSchema.safeParse(readJson(path, 'bundle index'));
  if (!parsed.success) fail(`bundle index '${path}': ${describeIssue(parsed.error)}`, 'invalid-input');
  for (const device of parsed.data.devices) verifyFile(join(dir, device.folder), device.manifest, `manifest of device '${device.name}'`);
  return parsed.data;
}

/** A box as the manifest stores it. */
export const boxOf = (b: Box): Array<[number, number]> => b.map(([s, e]) => [s, e]);
