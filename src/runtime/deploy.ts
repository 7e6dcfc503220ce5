import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fail } from '../errors.ts';
import type { Model } from '../ir/graph.ts';
import { modelFingerprint } from '../model/fingerprint.ts';
import { writeModelFile } from '../onnx/write.ts';
import { boxShape, boxVolume } from '../partition/box.ts';
import type { Plan } from '../plan/types.ts';
import {
  BUNDLE_FILE,
  BUNDLE_FORMAT,
  BUNDLE_VERSION,
  boxOf,
  fileEntryOf,
  MANIFEST_FILE,
  type BundleIndex,
  type Manifest,
  type ManifestStep,
} from './manifest.ts';
import { compileProgram, type RuntimeProgram, type Step, type WorkerProgram } from './program.ts';
import { withInlineWeights } from './reference.ts';
import { elementSize, weightSlice } from './regions.ts';
import { planSteps } from './schedule.ts';
import { targetOf } from './targets.ts';
import { buildStepModel, type HeldWeight } from './submodel.ts';

export interface DeployOptions {
  /** A sub-model whose weights exceed this many bytes keeps them in `<file>.data` next to it. */
  externalDataAboveBytes: number;
  /** How the README and the summary name the command that starts a worker (the CLI's own invocation). */
  command?: string;
  /** Progress per written sub-model. */
  onStep?: (device: string, step: number, steps: number) => void;
}

/** Default for --external-data-above: sub-models above 64 MiB of weights keep them in a separate file. */
export const DEFAULT_EXTERNAL_DATA_ABOVE_BYTES = 64 * 2 ** 20;
/**
 * Weights below 1 KiB stay inside the .onnx file even with external data: onnxruntime must read small constants
 * (Reshape shapes, Slice starts) during shape inference; onnx's convert_model_to_external_data keeps them too.
 */
const INLINE_BELOW_BYTES = 1024;

export interface DeployedDevice {
  name: string;
  folder: string;
  steps: number;
  files: number;
  bytes: number;
}

export interface DeployResult {
  dir: string;
  fingerprint: string;
  devices: DeployedDevice[];
}

/** A device name as a folder name: anything but letters, digits, '.', '_' and '-' becomes '_'. */
export function safeName(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9._-]/g, '_');
  return cleaned === '' || cleaned === '.' || cleaned === '..' ? '_' : cleaned;
}

/**
 * Writes a plan's deployment bundle into `dir` (docs/runtime.md, "Bundles"): per device a folder with one ONNX
 * sub-model per step of its program (exactly its weight slices, external data above the threshold), its
 * manifest.json and a README; bundle.json at the top names the plan, the model fingerprint and each device's
 * manifest with its SHA-256. The sub-models are exactly those a worker builds when the coordinator ships the model.
 */
export function writeBundle(analysed: Model, plan: Plan, dir: string, options: DeployOptions): DeployResult {
  if (existsSync(dir) && readdirSync(dir).length > 0 && !existsSync(join(dir, BUNDLE_FILE)))
    fail(`output folder '${dir}' exists and is not a bundle: give an empty or new folder`, 'usage');
  const model = withInlineWeights(analysed);
  const program = compileProgram(model, plan);
  const fingerprint = modelFingerprint(model);
  const command = options.command ?? 'memorianova';
  const folders = uniqueFolders(program.workers.map((w) => w.name));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const devices: DeployedDevice[] = [];
  const index: BundleIndex['devices'] = [];
  program.workers.forEach((worker, d) => {
    const folder = folders[d]!;
    const deviceDir = join(dir, folder);
    mkdirSync(deviceDir);
    const manifest: Manifest = {
      format: BUNDLE_FORMAT,
      version: BUNDLE_VERSION,
      model: { name: model.name, fingerprint },
      plan: { method: plan.method, cluster: plan.cluster.name },
      device: { index: d, name: worker.name, ...targetOf(plan.cluster.devices[d]!) },
      dtypes: worker.dtypes,
      weightBytes: worker.weights.reduce((n, w) => n + boxVolume(w.box) * elementSize(w.dtype, w.key), 0),
      steps: writeSteps(program, worker, deviceDir, options),
    };
    writeFileSync(join(deviceDir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 1)}\n`);
    writeFileSync(
      join(deviceDir, 'README.md'),
      `Device '${worker.name}' (${d + 1} of ${program.workers.length}) of plan '${plan.method}' for model '${model.name}' (fingerprint ${fingerprint}).\n` +
        `Its steps run in the order of manifest.json; each <number>-<step>.onnx is plain ONNX that any ONNX Runtime loads. manifest.json says, ` +
        `per step, which tensor regions it gathers and from which device, its inputs and outputs, and where its uploads go, ` +
        `with every file's size and SHA-256.\n` +
        `Start its worker from this folder (it verifies every file and creates its sessions once, then only tensors travel): ` +
        `${command} worker --bundle <this folder> --listen HOST:PORT --token-file SECRET_FILE\n`,
    );
    index.push({ index: d, name: worker.name, folder, manifest: fileEntryOf(deviceDir, MANIFEST_FILE) });
    const files = manifest.steps.flatMap((s) => (s.data === undefined ? [s.model] : [s.model, s.data]));
    devices.push({
      name: worker.name,
      folder,
      steps: manifest.steps.length,
      files: files.length,
      bytes: files.reduce((n, f) => n + f.bytes, 0),
    });
  });
  const bundle: BundleIndex = {
    format: BUNDLE_FORMAT,
    version: BUNDLE_VERSION,
    model: { name: model.name, fingerprint },
    plan,
    devices: index,
  };
  writeFileSync(join(dir, BUNDLE_FILE), `${JSON.stringify(bundle, null, 1)}\n`);
  writeFileSync(
    join(dir, 'README.md'),
    [
      `Deployment bundle of model '${model.name}' (fingerprint ${fingerprint}), plan '${plan.method}' on cluster '${plan.cluster.name}'.`,
      'One folder per device (its README and manifest.json say what its steps read, compute and send):',
      ...folders.map((f, d) => `  ${f}/  device ${d}: ${program.workers[d]!.name}`),
      "bundle.json records the plan and each device's manifest with its SHA-256.",
      "To run the plan, start each device's worker from its folder (it verifies and loads it; then only tensors travel):",
      ...folders.map((f) => `  ${command} worker --bundle ${f} --listen 0.0.0.0:7000 --token-file SECRET_FILE`),
      `and coordinate them, one address per device in this order: ${command} run ${model.name} --bundle <this folder> --workers host0:7000,host1:7000,... --token-file SECRET_FILE`,
      '',
    ].join('\n'),
  );
  return { dir, fingerprint, devices };
}

function uniqueFolders(names: string[]): string[] {
  const seen = new Map<string, number>();
  return names.map((name) => {
    const base = safeName(name);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    return n === 0 ? base : `${base}-${n}`;
  });
}

/** The weight slices one step reads (node inputs and tensor attributes), cut from the whole weights. */
function stepWeights(program: RuntimeProgram, worker: WorkerProgram, step: Step): Map<string, HeldWeight> {
  const boxes = new Map(worker.weights.map((w) => [w.key, w]));
  const keys = new Set<string>();
  for (const op of step.ops) {
    for (const key of op.weights) if (key != null) keys.add(key);
    for (const attr of Object.values(op.node.attributes)) if (attr.type === 'tensor') keys.add(attr.weight);
  }
  const held = new Map<string, HeldWeight>();
  for (const key of keys) {
    const slice = boxes.get(key)!;
    held.set(key, { dtype: slice.dtype, shape: boxShape(slice.box), bytes: weightSlice(program.weightSources.get(key)!, slice.box) });
  }
  return held;
}

function writeSteps(program: RuntimeProgram, worker: WorkerProgram, deviceDir: string, options: DeployOptions): ManifestStep[] {
  const plans = planSteps(worker);
  const digits = String(worker.steps.length).length;
  return worker.steps.map((step, s) => {
    const plan = plans[s]!;
    const weights = stepWeights(program, worker, step);
    const built = buildStepModel(worker, step, plan.held, weights, plan.keep);
    const weightBytes = [...weights.values()].reduce((n, w) => n + w.bytes.length, 0);
    const external = weightBytes > options.externalDataAboveBytes;
    const file = `${String(s).padStart(digits, '0')}-${safeName(step.name)}.onnx`;
    writeModelFile(built.graph, join(deviceDir, file), {
      externalData: external ? 'always' : 'never',
      inlineBelowBytes: INLINE_BELOW_BYTES,
    });
    options.onStep?.(worker.name, s, worker.steps.length);
    const entry: ManifestStep = {
      name: step.name,
      model: fileEntryOf(deviceDir, file),
      gathers: step.gathers.map((g) => ({
        tensor: g.tensor,
        region: boxOf(g.region),
        pieces: g.pieces.map((p) => ({
          message: p.message,
          delivery: p.delivery,
          box: boxOf(p.box),
          from: program.messages[p.message]!.source,
        })),
      })),
      inputs: built.feeds.map((f) => ({ input: f.input, tensor: f.tensor, box: boxOf(f.box) })),
      outputs: built.results.map((r) => ({ output: r.output, tensor: r.tensor, box: boxOf(r.box) })),
      uploads: step.uploads.map((u) => ({
        message: u.message,
        tensor: u.tensor,
        parts: u.parts.map(boxOf),
        to: program.messages[u.message]!.deliveries.map((d) => ({ device: d.device, box: boxOf(d.box) })),
      })),
      release: plan.release,
    };
    if (step.assemble !== undefined)
      entry.assemble = step.assemble.map((a) => ({ tensor: a.tensor, region: boxOf(a.region), share: boxOf(a.share) }));
    if (external) entry.data = fileEntryOf(deviceDir, `${file}.data`);
    return entry;
  });
}
