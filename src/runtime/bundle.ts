import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { fail } from '../errors.ts';
import { boxVolume, containsBox } from '../partition/box.ts';
import type { Box } from '../partition/types.ts';
import { fileSha256, MANIFEST_FILE, readDeviceBundle, type Manifest } from './manifest.ts';
import type { DeclaredPiece } from './program-schema.ts';
import { elementSize } from './regions.ts';
import { checkTarget, sessionOptions, targetOf } from './targets.ts';

/**
 * What a worker executes, whether its program was shipped by the coordinator or read from a bundle: per step, the
 * tensors it gathers, its session's graph inputs and outputs, what it uploads and what it frees after.
 */
export interface ExecutableStep {
  name: string;
  gathers: Array<{ tensor: string; region: Box; pieces: Array<{ message: number; delivery: number; box: Box }> }>;
  feeds: Array<{ input: string; tensor: string; box: Box }>;
  results: Array<{ output: string; tensor: string; box: Box }>;
  uploads: Array<{ message: number; tensor: string; parts: Box[] }>;
  release: string[];
  session: ort.InferenceSession;
  /** A tile's exits copied into whole regions (program.ts, Assembly); none in a bundle. */
  assemble?: Array<{ tensor: string; region: Box; share: Box }>;
  /** The step's planned working set (program.ts, Step.workingBytes). */
  workingBytes?: number;
  /** The sub-model output written over the held tensor `input` (program.ts, Step.inPlace). */
  inPlace?: { input: string; output: string; shape: number[] };
}

/** A device folder of a bundle, verified and with one open session per step (docs/runtime.md, "Workers from bundles"). */
export interface LoadedBundle {
  dir: string;
  manifest: Manifest;
  /** SHA-256 of manifest.json: bundle.json records it, so the coordinator can check the worker runs its device. */
  manifestSha256: string;
  steps: ExecutableStep[];
  /** Every piece the steps gather, by `<message>:<delivery>`. */
  pieces: Map<string, DeclaredPiece>;
  /** Milliseconds to verify the files and create the sessions. */
  loadMs: number;
}

/**
 * Reads a device folder written by `deploy`: verifies the manifest and every file's size and SHA-256 (the first
 * problem is one line naming the file) and creates each step's session from its file on disk, once. The folder
 * comes from the worker's own command line; nothing a peer sends names a file.
 */
export async function loadDeviceBundle(dir: string): Promise<LoadedBundle> {
  const start = performance.now();
  const manifest = readDeviceBundle(dir);
  const manifestSha256 = fileSha256(join(dir, MANIFEST_FILE));
  const dtypeOf = (tensor: string) => {
    const dtype = manifest.dtypes[tensor];
    if (dtype === undefined) fail(`bundle manifest '${join(dir, MANIFEST_FILE)}' has no dtype for tensor '${tensor}'`, 'invalid-input');
    return dtype;
  };
  const pieces = new Map<string, DeclaredPiece>();
  for (const step of manifest.steps)
    for (const gather of step.gathers)
      for (const piece of gather.pieces)
        pieces.set(`${piece.message}:${piece.delivery}`, {
          tensor: gather.tensor,
          box: piece.box,
          bytes: boxVolume(piece.box) * elementSize(dtypeOf(gather.tensor), gather.tensor),
        });
  const target = targetOf(manifest.device);
  await checkTarget(target, `bundle '${dir}' (device '${manifest.device.name}')`);
  const options = sessionOptions(target);
  const steps: ExecutableStep[] = [];
  try {
    for (const step of manifest.steps) {
      const path = join(dir, step.model.file);
      let session: ort.InferenceSession;
      try {
        session = await ort.InferenceSession.create(path, options);
      } catch (error) {
        fail(`sub-model of step '${step.name}' '${path}' cannot be loaded: ${(error as Error).message.split('\n')[0]}`, 'invalid-input');
      }
      for (const a of step.assemble ?? [])
        if (
          a.share.length !== a.region.length ||
          !containsBox(a.region, a.share) ||
          !step.outputs.some((o) => o.tensor === a.tensor && containsBox(o.box, a.share))
        )
          fail(
            `bundle manifest '${join(dir, MANIFEST_FILE)}': step '${step.name}' assembles a part of '${a.tensor}' outside its region or what it computes`,
            'invalid-input',
          );
      steps.push({
        name: step.name,
        gathers: step.gathers,
        feeds: step.inputs,
        results: step.outputs,
        uploads: step.uploads,
        release: step.release,
        session,
        ...(step.assemble === undefined ? {} : { assemble: step.assemble }),
      });
    }
  } catch (error) {
    for (const s of steps) await s.session.release().catch(() => undefined);
    throw error;
  }
  return { dir, manifest, manifestSha256, steps, pieces, loadMs: performance.now() - start };
}
