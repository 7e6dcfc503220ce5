import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadModel } from '../model/load.ts';
import { planOrder } from './plan.ts';
import { loadSavedOrder, savedOrderOf } from './saved.ts';

const dir = mkdtempSync(join(tmpdir(), 'memorianova-saved-order-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('saved orders', () => {
  const model = loadModel('squeezenet1.0');
  const plan = planOrder(model, { randomSamples: 5 });

  it('round-trips: the loaded order is the planned one', () => {
    const file = join(dir, 'order.json');
    writeFileSync(file, JSON.stringify(savedOrderOf(plan)));
    assert.deepEqual(loadSavedOrder(file, model), plan.order);
  });

  it('refuses an order made for another model, or naming unknown operators', () => {
    const other = join(dir, 'other.json');
    writeFileSync(other, JSON.stringify({ ...savedOrderOf(plan), fingerprint: '0000000000000000' }));
    assert.throws(() => loadSavedOrder(other, model), /different graph/);
    const unknown = join(dir, 'unknown.json');
    writeFileSync(unknown, JSON.stringify({ order: ['nope', ...plan.orderNames.slice(1)] }));
    assert.throws(() => loadSavedOrder(unknown, model), /names operator 'nope'/);
    const swapped = join(dir, 'swapped.json');
    writeFileSync(swapped, JSON.stringify({ order: [...plan.orderNames].reverse() }));
    assert.throws(() => loadSavedOrder(swapped, model), /before the operators producing its inputs/);
  });
});
