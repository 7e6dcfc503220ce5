import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RecentMemo } from './memo.ts';

test('RecentMemo: a nursery entry met again is kept; unmet ones leave after two generations of newer ones', () => {
  const memo = new RecentMemo<number, string>(1, 2);
  memo.set(1, 'a', false);
  assert.equal(memo.get(1), 'a', 'found in the nursery, and moved to the kept entries');
  memo.set(2, 'b', false);
  memo.set(3, 'c', false);
  memo.set(4, 'd', false);
  assert.equal(memo.get(2), undefined, 'two newer nursery entries pushed it out');
  assert.equal(memo.get(3), 'c');
  assert.equal(memo.get(1), 'a', 'kept entries do not leave with the nursery');
});

test('RecentMemo: kept entries are bounded, and an old one hit again stays', () => {
  const memo = new RecentMemo<number, number>(1, 2);
  for (let k = 0; k < 5; k++) memo.set(k, k, true);
  assert.equal(memo.get(0), undefined, 'dropped with the oldest generation');
  assert.equal(memo.get(1), undefined);
  assert.equal(memo.get(2), 2, 'hit in the old generation: back to the young one');
  memo.set(5, 5, true);
  assert.equal(memo.get(2), 2, 'moved along with its young generation');
  assert.equal(memo.get(3), undefined, 'not hit again: dropped');
});
