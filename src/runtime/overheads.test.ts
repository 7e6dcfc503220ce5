import assert from 'node:assert/strict';
import test from 'node:test';
import { mulberry32 } from '../random.ts';
import { fitOverheads, type StepSample } from './overheads.ts';

const sample = (wholeMs: number, splitShareMs: StepSample['splitShareMs'], boundaryBytes: number, measuredMs: number): StepSample => ({
  plan: 'p',
  device: 0,
  step: 's',
  wholeMs,
  splitShareMs,
  boundaryBytes,
  measuredMs,
});

// HiGHS solves the QP to about 1e-6 relative accuracy.
test('the overhead fit recovers known coefficients from exact samples', async () => {
  const random = mulberry32(7);
  // In the profile's time base: a step costs 0.5 ms + 0.08 ms/MiB, row slices run 60% slower, channel slices 15%;
  // the machine is 10% slower than when it was profiled, which multiplies every measured time.
  const truth = { scale: 1.1, rows: 0.6, channels: 0.15, stepMs: 0.5, msPerMiB: 0.08 };
  const samples = Array.from({ length: 40 }, (_, i) => {
    const unsplit = i % 5 === 0;
    const wholeMs = unsplit || random() < 0.3 ? random() * 20 : 0;
    const rows = !unsplit && random() < 0.5 ? random() * 10 : 0;
    const channels = unsplit ? 0 : random() * 10;
    const bytes = Math.floor(random() * 8 * 2 ** 20);
    // The unsplit steps are the time base: what they take is what their operators take.
    const profileMs = unsplit
      ? wholeMs
      : wholeMs + rows * (1 + truth.rows) + channels * (1 + truth.channels) + truth.stepMs + (truth.msPerMiB * bytes) / 2 ** 20;
    return sample(wholeMs, { rows, channels }, bytes, truth.scale * profileMs);
  });
  const fit = await fitOverheads(samples);
  assert.ok(Math.abs(fit.scale - truth.scale) < 1e-4, `scale ${fit.scale}`);
  assert.deepEqual(Object.keys(fit.overheads.splitPenalty), ['rows', 'channels']);
  assert.ok(Math.abs(fit.overheads.splitPenalty.rows! - truth.rows) < 1e-4);
  assert.ok(Math.abs(fit.overheads.splitPenalty.channels! - truth.channels) < 1e-4);
  assert.ok(Math.abs(fit.overheads.stepMs - truth.stepMs) < 1e-4);
  assert.ok(Math.abs(fit.overheads.msPerMiB - truth.msPerMiB) < 1e-4);
  assert.ok(fit.rmsMs < 1e-4);
});

test('costs stay non-negative: a step cost the data contradicts is 0, not negative', async () => {
  // A whole-model step at the profile's speed (scale 1); row steps measuring 2n − 1 ms for n ms of operators would
  // need stepMs = −1. The constrained optimum has stepMs = 0 and, by least squares through the origin over
  // n = 1..6, 1 + rows penalty = Σ n(2n − 1) / Σ n² = (2·91 − 21) / 91.
  const samples = [sample(10, {}, 0, 10), ...[1, 2, 3, 4, 5, 6].map((n) => sample(0, { rows: n }, 0, 2 * n - 1))];
  const fit = await fitOverheads(samples);
  assert.equal(fit.overheads.stepMs, 0);
  assert.equal(fit.overheads.msPerMiB, 0);
  assert.ok(Math.abs(fit.overheads.splitPenalty.rows! - ((2 * 91 - 21) / 91 - 1)) < 1e-4, `rows ${fit.overheads.splitPenalty.rows}`);
  assert.ok(Math.abs(fit.scale - 1) < 1e-12, `scale ${fit.scale}`);
});

test('a split dim the data finds cheaper than whole gets penalty 0, not a negative one', async () => {
  // Head slices measured at half their share (as if splitting halved the work): the fit may not call them free.
  const samples = [1, 2, 3, 4, 5, 6].flatMap((ms) => [sample(ms, {}, 0, ms), sample(0, { heads: ms }, 0, ms / 2)]);
  const fit = await fitOverheads(samples);
  assert.equal(fit.overheads.splitPenalty.heads, 0);
});

test('the speed is the whole-model step alone, even where step costs dwarf operator time', async () => {
  // Operators of 0.1 ms, steps costing 1 ms: the whole step (1.1 ms) sets the time base, scale = 1.1 / 0.1 = 11;
  // split steps of 0.02·n ms of operators take 0.02·n·1.5·11 + 11·0.5 ms: rows +50%, 0.5 ms per step in that base.
  const samples = [sample(0.1, {}, 0, 1.1), ...[1, 2, 3, 4, 5].map((n) => sample(0, { rows: 0.02 * n }, 0, 11 * (0.03 * n + 0.5)))];
  const fit = await fitOverheads(samples);
  assert.ok(Math.abs(fit.scale - 11) < 1e-9, `scale ${fit.scale}`);
  assert.ok(Math.abs(fit.overheads.stepMs - 0.5) < 1e-4, `stepMs ${fit.overheads.stepMs}`);
  assert.ok(Math.abs(fit.overheads.splitPenalty.rows! - 0.5) < 1e-3, `rows ${fit.overheads.splitPenalty.rows}`);
});

test('without a step free of split operators the speed is unknown, without split steps nothing to fit: clear errors', async () => {
  await assert.rejects(fitOverheads([1, 2, 3, 4].map((n) => sample(n, {}, 0, n))), /with split operators/);
  await assert.rejects(fitOverheads([1, 2, 3, 4].map((n) => sample(0, { rows: n }, 0, n))), /without split operators/);
});

test('too few samples is a clear error', async () => {
  await assert.rejects(fitOverheads([sample(1, {}, 0, 1)]), /at least 4 timed steps/);
});
