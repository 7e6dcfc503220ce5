import assert from 'node:assert/strict';
import test from 'node:test';
import { mulberry32 } from '../random.ts';
import { fitOverheads, type StepSample } from './overheads.ts';

const sample = (wholeMs: number, splitShareMs: StepSample['splitShareMs'], boundaryBytes: number, measuredMs: number): StepSample => ({ plan: 'p', device: 0, step: 's', wholeMs, splitShareMs, boundaryBytes, measuredMs });

// HiGHS solves the QP to about 1e-6 relative accuracy.
test('the overhead fit recovers known coefficients from exact samples', async () => {
  const random = mulberry32(7);
  // In the profile's time base: a step costs 0.5 ms + 0.08 ms/MiB, row slices run 60% slower, channel slices 15%;
  // the machine is 10% slower than when it was profiled, which multiplies every measured time.
  const truth = { scale: 1.1, rows: 0.6, channels: 0.15, stepMs: 0.5, msPerMiB: 0.08 };
  const samples = Array.from({ length: 40 }, () => {
    const wholeMs = random() < 0.3 ? random() * 20 : 0;
    const rows = random() < 0.5 ? random() * 10 : 0;
    const channels = random() * 10;
    const bytes = Math.floor(random() * 8 * 2 ** 20);
    const profileMs = wholeMs + rows * (1 + truth.rows) + channels * (1 + truth.channels) + truth.stepMs + (truth.msPerMiB * bytes) / 2 ** 20;
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
  // measured = 2 × whole − 1 would need stepMs = −1; the constrained optimum has stepMs = 0.
  const samples = [1, 2, 3, 4, 5, 6].map((whole) => sample(whole, {}, 0, 2 * whole - 1));
  const fit = await fitOverheads(samples);
  assert.equal(fit.overheads.stepMs, 0);
  assert.equal(fit.overheads.msPerMiB, 0);
  assert.deepEqual(fit.overheads.splitPenalty, {}, 'no split samples: no penalty learnt');
  // Least squares of y = 2x − 1 through the origin over x = 1..6: Σxy / Σx² = (2·91 − 21) / 91.
  assert.ok(Math.abs(fit.scale - (2 * 91 - 21) / 91) < 1e-4, `scale ${fit.scale}`);
});

test('a split dim the data finds cheaper than whole gets penalty 0, not a negative one', async () => {
  // Head slices measured at half their share (as if splitting halved the work): the fit may not call them free.
  const samples = [1, 2, 3, 4, 5, 6].flatMap((ms) => [sample(ms, {}, 0, ms), sample(0, { heads: ms }, 0, ms / 2)]);
  const fit = await fitOverheads(samples);
  assert.equal(fit.overheads.splitPenalty.heads, 0);
});

test('too few samples is a clear error', async () => {
  await assert.rejects(fitOverheads([sample(1, {}, 0, 1)]), /at least 4 timed steps/);
});
