import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { presetDevice } from '../cluster/presets.ts';
import { MemoriaNovaError } from '../errors.ts';
import { startLocalWorkers, type LocalWorkers } from '../runtime/local.ts';
import { checkProgram, workerProgramSchema } from '../runtime/program-schema.ts';
import type { WorkerProgram } from '../runtime/program.ts';
import { withInlineWeights } from '../runtime/reference.ts';
import { smallCnn } from '../runtime/testing.ts';
import { runFitPlan } from './execute.ts';
import { fitModel, type FitResult } from './fit.ts';
import { planMemory } from './memory.ts';
import { fitPlanOf, loadFitPlan, planGroupOf, readFitPlan, type FitPlanFile } from './plan.ts';
import { compileFitProgram, workerStepPeaks } from './program.ts';
import { analyzeGraph } from '../analysis/analyze.ts';
import { zooEntry } from '../zoo/index.ts';
import { copyFreePi, randomConvStack, residualStack, threeConvs, tinyAttention } from './testing.ts';

/** The plan file of one execution of a fit's front, through JSON as `fit --out` writes it. */
function planOf(result: FitResult, index: number): FitPlanFile {
  const e = result.front[index]!;
  const file = { ...fitPlanOf(result), limitBytes: e.peakBytes, peakBytes: e.peakBytes, latencyMs: e.latencyMs, order: e.order };
  file.groups = e.groups.map(planGroupOf);
  return JSON.parse(JSON.stringify(file)) as FitPlanFile;
}

/** The 2×1 group over the three convolutions of docs/memory.md ("Tiled steps"), peak 1664 B. */
function threeConvsPlan(): FitPlanFile {
  const file = fitPlanOf(fitModel(threeConvs(), { limitBytes: 1700, space: { maxGrid: 2, maxDepth: 3 } }));
  return { ...file, limitBytes: 1700, peakBytes: 1664, groups: [{ first: 'conv1', last: 'conv3', rows: 2, cols: 1 }] };
}

const throwsOneLine = (f: () => unknown, pattern: RegExp) =>
  assert.throws(f, (error: unknown) => {
    assert.ok(error instanceof MemoriaNovaError, 'a MemoriaNovaError');
    assert.ok(!error.message.includes('\n'), `one line: ${error.message}`);
    assert.match(error.message, pattern);
    return true;
  });

describe('fit plans on the runtime (one worker, tiles in sequence)', () => {
  let worker: LocalWorkers;
  let dir: string;
  before(async () => {
    worker = await startLocalWorkers(1);
    dir = mkdtempSync(join(tmpdir(), 'fit-plan-'));
  });
  after(async () => {
    await worker.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const run = (model: ReturnType<typeof smallCnn>, file: FitPlanFile) =>
    runFitPlan(model, loadFitPlan(file, model, 'the plan'), { worker: worker.addresses[0]!, secret: worker.secret, runs: 1, warmup: 0 });

  it('three convs, one group of 2×1 tiles: each tile step plans the hand-computed working set of docs/memory.md', async () => {
    const model = threeConvs();
    const file = threeConvsPlan();
    const plan = loadFitPlan(JSON.parse(JSON.stringify(file)), model, 'the plan');
    const { program } = compileFitProgram(withInlineWeights(model), plan.memory, plan.segments, presetDevice('pi')!);
    const steps = program.workers[0]!.steps;
    // Tile 0: a₀ 640 + b₀ 512 while conv2 runs, x (256) and the whole y (256) held. Tile 1 is cut after conv1, where x
    // dies: a₁ 640, then b₁ 512 + y₁ 128 with a₁ held.
    assert.deepEqual(
      steps.map((s) => [s.name, s.workingBytes]),
      [
        ['conv1 .. conv3 tile 0,0', 1152],
        ['conv1 .. conv3 tile 1,0 part 1/2', 640],
        ['conv1 .. conv3 tile 1,0 part 2/2', 640],
      ],
      'the steps and their working sets',
    );
    const whole = [
      [0, 1],
      [0, 1],
      [0, 8],
      [0, 8],
    ];
    assert.deepEqual(
      steps.map((s) => s.assemble),
      [
        [
          {
            tensor: 'conv3_out',
            region: whole,
            share: [
              [0, 1],
              [0, 1],
              [0, 4],
              [0, 8],
            ],
          },
        ],
        undefined,
        [
          {
            tensor: 'conv3_out',
            region: whole,
            share: [
              [0, 1],
              [0, 1],
              [4, 8],
              [0, 8],
            ],
          },
        ],
      ],
      'each tile copies its rows of y into the whole y',
    );
    const report = await run(model, JSON.parse(JSON.stringify(file)));
    assert.ok(report.maxAbsError <= 1e-4, `max abs error ${report.maxAbsError}`);
    assert.equal(report.measuredPeakBytes, 1664, 'held 512 B + working 1152 B: the predicted 1664 B');
    assert.equal(report.predictedPeakBytes, 1664, 'the plan says 1664 B');
  });

  it('three convs, 2×1 tiles with cached halos: tile 0 keeps rows 3–4 of a, tile 1 concatenates them, at the predicted 1920 B', async () => {
    const model = threeConvs();
    const file: FitPlanFile = {
      ...threeConvsPlan(),
      halo: 'cache',
      limitBytes: 1920,
      peakBytes: 1920,
      groups: [{ first: 'conv1', last: 'conv3', rows: 2, cols: 1, halo: 'cache' }],
    };
    const plan = loadFitPlan(JSON.parse(JSON.stringify(file)), model, 'the plan');
    const { program } = compileFitProgram(withInlineWeights(model), plan.memory, plan.segments, presetDevice('pi')!);
    const steps = program.workers[0]!.steps;
    // Tile 0: a₀ 640 + its cache 256 + b₀ 512. Tile 1, cut after its Concat where x dies: a₁′ 384 + a₁ 640, then
    // b₁ 512 + y₁ 128 with a₁ held.
    assert.deepEqual(
      steps.map((s) => [s.name, s.workingBytes, s.ops.map((op) => `${op.node.opType} ${op.node.inputs[0]}→${op.node.outputs[0]}`)]),
      [
        [
          'conv1 .. conv3 tile 0,0',
          1408,
          ['Conv x→conv1_out', 'Identity conv1_out→conv1_out~cache@0,0', 'Conv conv1_out→conv2_out', 'Conv conv2_out→conv3_out'],
        ],
        ['conv1 .. conv3 tile 1,0 part 1/2', 1024, ['Conv x→conv1_out~new', 'Concat conv1_out~cache@0,0→conv1_out']],
        ['conv1 .. conv3 tile 1,0 part 2/2', 640, ['Conv conv1_out→conv2_out', 'Conv conv2_out→conv3_out']],
      ],
      'the steps, their working sets and operators',
    );
    assert.deepEqual(steps[1]!.ops[0]!.slice.outputs[0]![2], [5, 8], 'tile 1 computes rows 5–7 of a only');
    assert.deepEqual(workerStepPeaks(program.workers[0]!), [1920, 1792, 1536], 'held + working per step');
    checkProgram(program.workers[0]!, 2 ** 20);
    const report = await run(model, JSON.parse(JSON.stringify(file)));
    assert.ok(report.maxAbsError <= 1e-4, `max abs error ${report.maxAbsError}`);
    assert.equal(report.measuredPeakBytes, 1920, 'x, y and the cache held (768 B) + a₀ and b₀ (1152 B): the predicted 1920 B');
    throwsOneLine(
      () => loadFitPlan({ ...file, halo: 'recompute' }, model, 'p'),
      /caches its halos, but the plan says halos are recomputed/,
    );
    throwsOneLine(
      () => loadFitPlan({ ...file, groups: [{ first: 'conv1', last: 'conv3', rows: 1, cols: 2, halo: 'cache' }] }, model, 'p'),
      /a group caching its halos needs at least 2 tile rows/,
    );
  });

  for (const [name, build] of [
    ['small CNN', smallCnn],
    ['residual stack', residualStack],
  ] as const) {
    it(`${name}: the least-peak and a middle plan of the front run with the whole model's output at the predicted peak`, async () => {
      const model = build();
      const result = fitModel(model, { limitBytes: 1, space: { maxGrid: 3, maxDepth: 5 } });
      for (const index of [0, Math.floor(result.front.length / 2)]) {
        const file = planOf(result, index);
        const report = await run(model, file);
        assert.ok(report.maxAbsError <= 1e-4, `max abs error ${report.maxAbsError}`);
        assert.ok(
          report.measuredPeakBytes <= file.limitBytes,
          `measured ${report.measuredPeakBytes} B within the limit ${file.limitBytes} B`,
        );
        assert.equal(
          report.measuredPeakBytes,
          report.predictedPeakBytes,
          'measured = predicted: every step holds what the memory model says',
        );
        assert.ok(report.tiles > 0, 'some group runs tile by tile');
      }
    });
  }

  const bert = () => analyzeGraph(zooEntry('bert-base').build({ seqLen: 8, layers: 1 }), { name: 'bert-base' });
  for (const [name, build] of [
    ['tiny attention', tinyAttention],
    ['BERT-base, 1 layer, 8 tokens', bert],
  ] as const) {
    it(`${name}: token chunk plans (least peak, middle of the front) run with the whole model's output at the predicted peak`, async () => {
      const model = build();
      const result = fitModel(model, { limitBytes: 1, space: { maxGrid: 2, maxDepth: 8, maxChunks: 3 } });
      assert.ok(result.leastPeak.peakBytes < result.baselinePeakBytes, 'chunking goes below the untiled peak');
      for (const index of [0, Math.floor(result.front.length / 2)]) {
        const file = planOf(result, index);
        assert.ok(
          file.groups.some((g) => 'kind' in g && g.kind === 'tokens'),
          'the plan has a token chunk group',
        );
        const report = await run(model, file);
        assert.ok(report.maxAbsError <= 1e-4, `max abs error ${report.maxAbsError}`);
        assert.equal(report.measuredPeakBytes, report.predictedPeakBytes, 'measured = predicted');
        assert.ok(report.tiles > 0, 'some group runs chunk by chunk');
      }
    });
  }

  it('token chunk groups: too many chunks, a view as an exit and a CNN grid on a transformer are one-line errors', () => {
    const model = bert();
    const file = planOf(fitModel(model, { limitBytes: 1, space: { maxGrid: 2, maxDepth: 4, maxChunks: 2 } }), 0);
    const order = file.order;
    const at = (name: string) => order.indexOf(name);
    const q = 'encoder.layer.0.attention.self.query.matmul';
    throwsOneLine(
      () => loadFitPlan({ ...file, groups: [{ kind: 'tokens', first: q, last: q, chunks: 9 }] }, model, 'p'),
      /9 chunks exceed what its outputs allow \(8\)/,
    );
    const view = 'encoder.layer.0.attention.self.query_heads.reshape';
    assert.equal(at(view), at(q) + 2, 'the query projection, its bias, its heads view');
    throwsOneLine(
      () => loadFitPlan({ ...file, groups: [{ kind: 'tokens', first: q, last: view, chunks: 2 }] }, model, 'p'),
      /a view in it is an output of the group or reads a tensor made before the group/,
    );
    throwsOneLine(
      () => loadFitPlan({ ...file, groups: [{ first: q, last: q, rows: 2, cols: 1 }] }, model, 'p'),
      /a spatial group does not apply to a sequence model/,
    );
  });

  it("the worker's program schema stays strict: an assembly outside what the step computes, too large or unknown fields are refused", () => {
    const model = threeConvs();
    const plan = loadFitPlan(threeConvsPlan(), model, 'the plan');
    const program = compileFitProgram(withInlineWeights(model), plan.memory, plan.segments, presetDevice('pi')!).program.workers[0]!;
    assert.ok(workerProgramSchema.safeParse(program).success, 'the compiled program passes the schema');
    checkProgram(program, 2 ** 20);
    const changed = (edit: (p: WorkerProgram) => void) => {
      const copy = structuredClone(program);
      edit(copy);
      return copy;
    };
    throwsOneLine(
      () =>
        checkProgram(
          changed(
            (p) =>
              (p.steps[0]!.assemble![0]!.share = [
                [0, 1],
                [0, 1],
                [0, 8],
                [0, 8],
              ]),
          ),
          2 ** 20,
        ),
      /the share of 'conv3_out' step '.*' assembles lies outside what it computes/,
    );
    throwsOneLine(
      () =>
        checkProgram(
          changed(
            (p) =>
              (p.steps[0]!.assemble![0]!.region = [
                [0, 1],
                [0, 1],
                [0, 4096],
                [0, 4096],
              ]),
          ),
          2 ** 20,
        ),
      /the region of 'conv3_out' assembled by step '.*' needs 64\.0 MiB, above this worker's memory limit 1\.0 MiB/,
    );
    throwsOneLine(
      () =>
        checkProgram(
          changed((p) => (p.steps[0]!.assemble![0]!.tensor = 'x')),
          2 ** 20,
        ),
      /step '.*' assembles 'x', which it does not compute/,
    );
    throwsOneLine(
      () =>
        checkProgram(
          changed((p) => (p.steps[1]!.inPlace = { input: 'nowhere', output: 'conv1_out' })),
          2 ** 20,
        ),
      /names tensor 'nowhere', which has no dtype/,
    );
    throwsOneLine(
      () =>
        checkProgram(
          changed((p) => (p.steps[0]!.workingBytes = 2 ** 30)),
          2 ** 20,
        ),
      /the working set of step '.*' needs 1024\.0 MiB, above this worker's memory limit/,
    );
    assert.ok(
      !workerProgramSchema.safeParse(changed((p) => Object.assign(p.steps[0]!.assemble![0]!, { path: '/etc/passwd' }))).success,
      'an unknown field in an assembly',
    );
  });

  it('a plan file of another model, a changed group and an unknown group kind are one-line errors', () => {
    const file = threeConvsPlan();
    const path = join(dir, 'fit.json');
    writeFileSync(path, JSON.stringify(file));
    throwsOneLine(
      () => readFitPlan(path, residualStack()),
      /fit plan .*fit\.json was made for model 'three-convs' .*not for 'residual-stack'/,
    );
    const model = threeConvs();
    throwsOneLine(
      () => loadFitPlan({ ...file, groups: [{ ...file.groups[0]!, rows: 4 }] }, model, 'p'),
      /groups peak at \d+ bytes .* says 1664/,
    );
    throwsOneLine(
      () => loadFitPlan({ ...file, groups: [{ ...file.groups[0]!, kind: 'channels' }] }, model, 'p'),
      /group 1 is of kind 'channels', which run does not execute \(it runs spatial, tokens tile groups\)/,
    );
    throwsOneLine(
      () => loadFitPlan({ ...file, groups: [{ kind: 'tokens', first: 'conv1', last: 'conv3', chunks: 2 }] }, model, 'p'),
      /group 1 \(conv1 \.\. conv3\): a token chunk group does not apply to a CNN/,
    );
    throwsOneLine(
      () => loadFitPlan({ ...file, groups: [{ ...file.groups[0]!, first: 'nope' }] }, model, 'p'),
      /names an operator the order does not have/,
    );
  });

  it('property: on random conv stacks every fit plan peaks within its limit and runs with the whole model output', async () => {
    let cachedPlans = 0;
    for (const [seed, halo] of [1, 2, 3, 4, 5].flatMap((seed) => [[seed, 'recompute'] as const, [seed, 'cache'] as const])) {
      const model = randomConvStack(seed);
      const space = { maxGrid: 3, maxDepth: 4, halo };
      const device = halo === 'cache' ? copyFreePi : undefined;
      const result = fitModel(model, { limitBytes: 1, space, ...(device === undefined ? {} : { device }) });
      // Limits from the least peak to the untiled one: the fastest plan within each; with cached halos also the peak of
      // the first front point that caches some group's halos.
      const limits = [result.leastPeak.peakBytes, Math.round((result.leastPeak.peakBytes + result.baselinePeakBytes) / 2)];
      const cached = result.front.find((e) => e.groups.some((g) => g.halo === 'cache'));
      if (cached !== undefined) limits.push(cached.peakBytes);
      for (const limitBytes of limits) {
        const fit = fitModel(model, { limitBytes, space, ...(device === undefined ? {} : { device }) });
        if (fit.best!.groups.some((g) => g.halo === 'cache')) cachedPlans++;
        assert.ok(fit.feasible, `seed ${seed}: feasible at ${limitBytes} B`);
        const file = JSON.parse(JSON.stringify(fitPlanOf(fit))) as FitPlanFile;
        const plan = loadFitPlan(file, model, 'the plan');
        const simulated = planMemory(plan.memory, plan.segments).peakBytes;
        assert.ok(simulated <= limitBytes, `seed ${seed}: simulated peak ${simulated} B within ${limitBytes} B`);
        const report = await run(model, file);
        assert.ok(report.maxAbsError <= 1e-4, `seed ${seed}: max abs error ${report.maxAbsError}`);
        assert.ok(report.measuredPeakBytes <= limitBytes, `seed ${seed}: measured ${report.measuredPeakBytes} B within ${limitBytes} B`);
        const { program } = compileFitProgram(withInlineWeights(model), plan.memory, plan.segments, presetDevice('pi')!);
        assert.equal(
          Math.max(...workerStepPeaks(program.workers[0]!)),
          report.measuredPeakBytes,
          `seed ${seed}: the worker held what its program says`,
        );
      }
    }
    assert.ok(cachedPlans >= 3, `${cachedPlans} of the plans run cache halos`);
  });
});
