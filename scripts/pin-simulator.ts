// Re-pins the simulator's results on the equivalence cases (src/simulate/testing.ts). Run only after a documented
// change of the latency or memory model; speed work must leave the fixture untouched.
import { writeFileSync } from 'node:fs';
import { equivalenceCases, pinnedOf } from '../src/simulate/testing.ts';

const pinned: Record<string, unknown[]> = {};
for (const { key, simulator, plans } of equivalenceCases())
  pinned[key] = plans.map((plan) => pinnedOf(simulator.run(plan, { timeline: false })));
writeFileSync('src/simulate/equivalence.fixture.json', JSON.stringify(pinned) + '\n');
console.log(`pinned ${Object.values(pinned).reduce((s, r) => s + r.length, 0)} simulations in src/simulate/equivalence.fixture.json`);
