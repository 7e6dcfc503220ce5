import assert from 'node:assert/strict';
import { it } from 'node:test';
import { MemoriaNovaError } from './errors.ts';
import { solveWithHighs } from './highs.ts';

it('HiGHS: a failure of the solver itself is a one-line error naming the problem, and the next solve works', async () => {
  await assert.rejects(
    solveWithHighs('Minimize\n obj: x +\nSubject To\n c: x >= = 1\nEnd\n', 'a malformed LP'),
    (error: unknown) => error instanceof MemoriaNovaError && /^a malformed LP: the HiGHS solver failed \(.+\)$/.test(error.message),
  );
  const solution = await solveWithHighs('Minimize\n obj: x + y\nSubject To\n c: x + 2 y >= 4\nBounds\n x >= 1\nEnd\n', 'a small LP');
  assert.equal(solution.Status, 'Optimal');
  assert.equal(solution.ObjectiveValue, 2.5);
});
