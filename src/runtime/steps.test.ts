import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { largestStepErrors } from '../cli/commands/run.ts';
import { presetCluster } from '../cluster/presets.ts';
import type { Cluster } from '../cluster/types.ts';
import { proportionalPlan } from '../plan/build.ts';
import { simulate } from '../simulate/simulate.ts';
import { compileProgram } from './program.ts';
import { coordinatorBoundFor, decodeFrame, encodeFrame } from './protocol.ts';
import { runPlan, type RunReport } from './run.ts';
import { smallCnn } from './testing.ts';

const cnn = smallCnn();
const homo2 = presetCluster('homo2')!;
// Each step costs 0.5 ms beyond its slices, and a rows slice +20%: the per-step prediction carries both.
const cluster: Cluster = {
  ...homo2,
  devices: homo2.devices.map((d) => ({
    ...d,
    profile: { format: 'memorianova-profile', version: 1, overheads: { stepMs: 0.5, msPerMiB: 0, splitPenalty: { rows: 0.2 } } },
  })),
};
const plan = proportionalPlan(
  cnn,
  cluster,
  cnn.ops.map((op) => op.node.name),
  ['rows'],
);

describe('per-step measured vs predicted compute', () => {
  it("small CNN on 2 local workers: every program step once, predictions summing to the simulator's device compute", async () => {
    const report = await runPlan(cnn, plan, { local: 2, runs: 1, warmup: 0, timeoutMs: 30_000 });
    const program = compileProgram(cnn, plan);
    const predicted = simulate(cnn, cluster, plan);
    assert.equal(report.workers.length, 2);
    report.workers.forEach((w, i) => {
      const names = program.workers[i]!.steps.map((s) => s.name);
      assert.ok(names.length > 1, 'a rows split of every operator makes several steps');
      assert.deepEqual(
        w.steps.map((s) => s.name),
        names,
      );
      assert.equal(new Set(names).size, names.length, 'each step appears once');
      const sum = (f: (s: RunReport['workers'][number]['steps'][number]) => number) => w.steps.reduce((n, s) => n + f(s), 0);
      assert.ok(Math.abs(sum((s) => s.predictedMs) - predicted.devices[i]!.computeMs) < 1e-9);
      assert.equal(w.predictedComputeMs, predicted.devices[i]!.computeMs);
      for (const s of w.steps) assert.ok(s.predictedMs >= 0.5 && s.measuredMs >= 0);
      // One measured run: its steps' times are what computeMs sums.
      assert.ok(Math.abs(sum((s) => s.measuredMs) - w.computeMs) < 1e-6);
    });
  });

  it('a done timing more steps than the program has is rejected by the schema', () => {
    const steps = compileProgram(cnn, plan).workers[0]!.steps.length;
    const done = (n: number) =>
      encodeFrame({
        t: 'done',
        run: 0,
        computeMs: 1,
        waitMs: 0,
        sendMs: 0,
        peakBytes: 0,
        tensorPeakBytes: 0,
        workingPeakBytes: 0,
        stepMs: new Array<number>(n).fill(0.1),
      });
    const schema = coordinatorBoundFor(steps);
    assert.equal(decodeFrame(done(steps), schema, 'worker').header.t, 'done');
    assert.throws(() => decodeFrame(done(steps + 1), schema, 'worker'), /unexpected message 'done' from worker: stepMs/);
  });

  it('the largest step errors and their shares of Σ |error|, by hand', () => {
    const step = (name: string, measuredMs: number, predictedMs: number) => ({ name, measuredMs, predictedMs });
    // Errors +3, −1 (w0) and +6, 0 (w1): Σ |error| = 10.
    const report = {
      workers: [
        { name: 'w0', steps: [step('a', 5, 2), step('b', 1, 2)] },
        { name: 'w1', steps: [step('c', 10, 4), step('d', 3, 3)] },
      ],
    } as unknown as RunReport;
    const { steps, totalMs, largest } = largestStepErrors(report, 3);
    assert.equal(steps, 4);
    assert.equal(totalMs, 10);
    assert.deepEqual(
      largest.map((s) => [s.worker, s.step, s.errorMs, s.sharePercent]),
      [
        ['w1', 'c', 6, 60],
        ['w0', 'a', 3, 30],
        ['w0', 'b', -1, 10],
      ],
    );
  });
});
