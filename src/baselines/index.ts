import type { BaselineOutcome, PlanningContext } from './common.ts';
import { deepThings } from './deepthings.ts';
import { heft } from './heft.ts';
import { layerwise } from './layerwise.ts';
import { linearProgram } from './lp.ts';
import { proportional } from './proportional.ts';
import { singleDevice } from './single.ts';

/** The baselines by the names results carry (docs/baselines.md). */
export const BASELINES: ReadonlyArray<{ name: string; run: (context: PlanningContext) => BaselineOutcome | Promise<BaselineOutcome> }> = [
  { name: 'single', run: singleDevice },
  { name: 'layerwise', run: layerwise },
  { name: 'proportional', run: proportional },
  { name: 'lp', run: linearProgram },
  { name: 'deepthings', run: deepThings },
  { name: 'heft', run: heft },
];
