import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { presetCluster } from '../cluster/presets.ts';
import type { Cluster } from '../cluster/types.ts';
import type { Model } from '../ir/graph.ts';
import { loadModel } from '../model/load.ts';
import { fullBox, intersect } from '../partition/box.ts';
import { partitionContext } from '../partition/context.ts';
import { repairDecisions } from '../partition/slices.ts';
import { makePlan, proportionalPlan, singleDevicePlan } from '../plan/build.ts';
import type { Plan } from '../plan/types.ts';
import { writeBundle } from './deploy.ts';
import { fileSha256, MANIFEST_FILE, manifestSchema, readBundleIndex, readDeviceBundle, type Manifest } from './manifest.ts';
import { maxAbsError, modelInputs, referenceRun, withInlineWeights } from './reference.ts';
import { copyRegion, elementSize, emptyRegion, extractRegion, type Region } from './regions.ts';
import { ortTensorBytes, SESSION_OPTIONS, toOrtTensor } from './tensors.ts';
import { smallCnn } from './testing.ts';
import { boxShape } from '../partition/box.ts';

const dir = mkdtempSync(join(tmpdir(), 'memorianova-deploy-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const orderOf = (model: Model) => model.ops.map((op) => op.node.name);

function fusedPlan(model: Model, cluster: Cluster, dims: Parameters<typeof proportionalPlan>[3]): Plan {
  const base = proportionalPlan(model, cluster, orderOf(model), dims);
  const ops = repairDecisions(
    partitionContext(model, base.order),
    base.ops.map((d) => ({ ...d, sync: false })),
  );
  return makePlan(model, cluster, base.order, ops, 'fused');
}

/**
 * Runs a bundle from its files alone, as its devices and the router would: each device runs its next step once the
 * pieces it gathers have been uploaded (or are graph inputs), sessions loaded from the .onnx files on disk.
 */
async function runBundle(model: Model, bundleDir: string): Promise<Map<string, Uint8Array>> {
  const index = readBundleIndex(bundleDir);
  const manifests = index.devices.map((d) => ({ dir: join(bundleDir, d.folder), manifest: readDeviceBundle(join(bundleDir, d.folder)) }));
  const inputs = new Map([...modelInputs(model)].map(([name, t]) => [name, ortTensorBytes(t)]));
  const dtypeOf = (m: Manifest, tensor: string) => m.dtypes[tensor] ?? model.tensors.get(tensor)!.dtype;
  const uploaded = new Map<number, Region[]>();
  const outputs = new Map<string, Region>(
    model.graph.outputs.map((o) => {
      const t = model.tensors.get(o.name)!;
      return [o.name, emptyRegion(fullBox(t.shape), elementSize(t.dtype, o.name))];
    }),
  );
  const pieceOf = (message: number, tensor: string, box: Array<[number, number]>, from: number, size: number): Region | undefined => {
    const parts = from === -1 ? [{ box: fullBox(model.tensors.get(tensor)!.shape), bytes: inputs.get(tensor)! }] : uploaded.get(message);
    const part = parts?.find((p) => intersect(p.box, box) !== null && p.box.every(([s, e], a) => s <= box[a]![0] && box[a]![1] <= e));
    return part === undefined ? undefined : extractRegion(part, box, size);
  };
  const next = manifests.map(() => 0);
  const stores = manifests.map(() => new Map<string, Region>());
  for (let progress = true; progress;) {
    progress = false;
    for (const [d, { dir: deviceDir, manifest }] of manifests.entries()) {
      const step = manifest.steps[next[d]!];
      if (step === undefined) continue;
      const ready = step.gathers.every((g) => g.pieces.every((p) => p.from === -1 || uploaded.has(p.message)));
      if (!ready) continue;
      const store = stores[d]!;
      for (const g of step.gathers) {
        const size = elementSize(dtypeOf(manifest, g.tensor), g.tensor);
        const region = emptyRegion(g.region, size);
        const own = store.get(g.tensor);
        if (own !== undefined) copyRegion(own, region, intersect(own.box, g.region)!, size);
        for (const p of g.pieces) copyRegion(pieceOf(p.message, g.tensor, p.box, p.from, size)!, region, p.box, size);
        store.set(g.tensor, region);
      }
      const session = await ort.InferenceSession.create(join(deviceDir, step.model.file), SESSION_OPTIONS);
      const feeds: Record<string, ort.Tensor> = {};
      for (const f of step.inputs) {
        const size = elementSize(dtypeOf(manifest, f.tensor), f.tensor);
        feeds[f.input] = toOrtTensor(
          dtypeOf(manifest, f.tensor),
          extractRegion(store.get(f.tensor)!, f.box, size).bytes,
          boxShape(f.box),
          f.tensor,
        );
      }
      const results = await session.run(feeds);
      await session.release();
      for (const o of step.outputs) store.set(o.tensor, { box: o.box, bytes: ortTensorBytes(results[o.output]!).slice() });
      for (const u of step.uploads) {
        const size = elementSize(dtypeOf(manifest, u.tensor), u.tensor);
        const parts = u.parts.map((box) => extractRegion(store.get(u.tensor)!, box, size));
        uploaded.set(u.message, parts);
        for (const to of u.to)
          if (to.device === -1) copyRegion(pieceOf(u.message, u.tensor, to.box, d, size)!, outputs.get(u.tensor)!, to.box, size);
      }
      for (const t of step.release) store.delete(t);
      next[d]!++;
      progress = true;
    }
  }
  manifests.forEach(({ manifest }, d) => assert.equal(next[d], manifest.steps.length, `device ${d} stalled`));
  return new Map([...outputs].map(([name, r]) => [name, r.bytes]));
}

describe('deploy: per-device bundles of ONNX sub-models', () => {
  const cnn = withInlineWeights(smallCnn());
  const homo2 = presetCluster('homo2')!;
  const homo4 = presetCluster('homo4')!;
  const hetero3: Cluster = { ...homo4, devices: homo4.devices.slice(0, 3).map((d, i) => ({ ...d, gflops: [10, 25, 7][i]! })) };
  const cases: Array<[string, Model, () => Plan]> = [
    ['single device (the second)', cnn, () => singleDevicePlan(cnn, homo2, orderOf(cnn), 1)],
    ['rows split over four devices', cnn, () => proportionalPlan(cnn, homo4, orderOf(cnn), ['rows'])],
    ['channels split over three unequal devices', cnn, () => proportionalPlan(cnn, hetero3, orderOf(cnn), ['channels'])],
    ['rows split, fused stretches with halos', cnn, () => fusedPlan(cnn, hetero3, ['rows'])],
  ];
  for (const [name, model, plan] of cases) {
    it(`small CNN, ${name}: every sub-model loads in onnxruntime and the bundle computes the whole model's output`, async () => {
      const out = join(dir, name.replace(/\W+/g, '-'));
      // A 2 KiB threshold puts the larger sub-models' weights in external data.
      writeBundle(model, plan(), out, { externalDataAboveBytes: 2048 });
      const reference = await referenceRun(model, modelInputs(model));
      const err = maxAbsError(model, await runBundle(model, out), reference.outputs);
      assert.ok(err <= 1e-4, `max abs error ${err}`);
    });
  }

  it('BERT (1 layer, 8 tokens) split by heads and tokens: the bundle equals the whole model', async () => {
    const bert = withInlineWeights(loadModel('bert-base', { layers: 1, seqLen: 8 }));
    const out = join(dir, 'bert');
    const result = writeBundle(bert, fusedPlan(bert, homo2, ['heads', 'tokens', 'channels']), out, { externalDataAboveBytes: 2 ** 20 });
    const index = readBundleIndex(out);
    const external = index.devices.flatMap((d) => readDeviceBundle(join(out, d.folder)).steps.filter((s) => s.data !== undefined));
    assert.ok(external.length > 0, 'some sub-model keeps its weights in external data');
    assert.equal(result.devices.length, 2);
    const reference = await referenceRun(bert, modelInputs(bert));
    assert.ok(maxAbsError(bert, await runBundle(bert, out), reference.outputs) <= 1e-4);
  });

  describe('manifest schema and checksums', () => {
    const out = join(dir, 'checks');
    const plan = proportionalPlan(cnn, homo2, orderOf(cnn), ['rows']);
    writeBundle(cnn, plan, out, { externalDataAboveBytes: 2048 });
    const deviceDir = join(out, 'pi1');
    const manifestPath = join(deviceDir, MANIFEST_FILE);
    const original = readFileSync(manifestPath, 'utf8');
    after(() => writeFileSync(manifestPath, original));

    it('records each file with its size and SHA-256, the model fingerprint and the sources of every piece', () => {
      const manifest = readDeviceBundle(deviceDir);
      assert.equal(manifest.device.name, 'pi1');
      assert.equal(manifest.model.fingerprint, readBundleIndex(out).model.fingerprint);
      for (const step of manifest.steps) {
        assert.equal(step.model.sha256, fileSha256(join(deviceDir, step.model.file)));
        for (const g of step.gathers)
          for (const p of g.pieces) assert.ok(p.from === -1 || p.from === 1, 'pieces come from the router or pi2');
        for (const u of step.uploads) assert.ok(u.to.length > 0);
      }
      assert.ok(
        manifest.steps.some((s) => s.gathers.some((g) => g.pieces.some((p) => p.from === 1))),
        'a halo arrives from pi2',
      );
    });

    it('a tampered sub-model is refused with a message naming the file', () => {
      const manifest = readDeviceBundle(deviceDir);
      const file = join(deviceDir, manifest.steps[1]!.model.file);
      const bytes = readFileSync(file);
      const tampered = Buffer.from(bytes);
      tampered[tampered.length - 1]! ^= 1;
      writeFileSync(file, tampered);
      try {
        assert.throws(
          () => readDeviceBundle(deviceDir),
          (e: Error) => e.message.includes(file) && /SHA-256/.test(e.message),
        );
      } finally {
        writeFileSync(file, bytes);
      }
      assert.doesNotThrow(() => readDeviceBundle(deviceDir));
    });

    it('a manifest with an unknown field, a bad checksum or a path outside the folder is refused in one line', () => {
      const parsed = JSON.parse(original) as Manifest;
      const bad: Array<[unknown, RegExp]> = [
        [{ ...parsed, extra: 1 }, /unknown field 'extra'/],
        [
          { ...parsed, steps: [{ ...parsed.steps[0]!, model: { ...parsed.steps[0]!.model, sha256: 'abc' } }] },
          /steps\[0\]\.model\.sha256: must be 64/,
        ],
        [{ ...parsed, steps: [{ ...parsed.steps[0]!, model: { ...parsed.steps[0]!.model, file: '../pi2/0-x.onnx' } }] }, /plain file name/],
      ];
      for (const [value, pattern] of bad) {
        assert.equal(manifestSchema.safeParse(value).success, false);
        writeFileSync(manifestPath, JSON.stringify(value));
        assert.throws(
          () => readDeviceBundle(deviceDir),
          (e: Error) => pattern.test(e.message) && !e.message.includes('\n'),
        );
      }
      writeFileSync(manifestPath, original);
    });

    it('the index detects a replaced manifest', () => {
      writeFileSync(manifestPath, original.replace('"proportional"', '"other"'));
      assert.throws(() => readBundleIndex(out), /manifest of device 'pi1'.*refusing to start/);
      writeFileSync(manifestPath, original);
    });

    it('refuses to write into a folder that is not a bundle', () => {
      const other = mkdtempSync(join(dir, 'other-'));
      writeFileSync(join(other, 'keep.txt'), 'x');
      assert.throws(() => writeBundle(cnn, plan, other, { externalDataAboveBytes: 2048 }), /is not a bundle/);
    });
  });
});
