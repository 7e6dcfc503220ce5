import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BusyClock } from './busy.ts';

describe('BusyClock', () => {
  it('counts the union of overlapping intervals, not their sum', () => {
    let t = 0;
    const clock = new BusyClock(() => t);
    // [0, 10] and [4, 14] overlap: busy 0–14; then [20, 25]: 14 + 5 = 19 (the sum would be 25).
    const a = clock.begin();
    t = 4;
    const b = clock.begin();
    t = 10;
    a();
    t = 14;
    b();
    b();
    assert.equal(clock.ms, 14);
    t = 20;
    const c = clock.begin();
    t = 23;
    assert.equal(clock.ms, 17);
    t = 25;
    c();
    t = 40;
    assert.equal(clock.ms, 19);
  });
});
