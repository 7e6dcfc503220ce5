import { fail } from '../errors.ts';
import type { ZooEntry } from './entry.ts';
import { resnet50 } from './resnet.ts';
import { squeezenet10 } from './squeezenet.ts';

export type { ZooBuildOptions, ZooDefaults, ZooEntry } from './entry.ts';
export { countParams } from './params.ts';

/** The built-in models, in the order the paper lists them. */
export const ZOO: ZooEntry[] = [resnet50, squeezenet10];

export function zooEntry(name: string): ZooEntry {
  const entry = ZOO.find((e) => e.name === name);
  if (entry === undefined) fail(`unknown model '${name}'; built-in models: ${ZOO.map((e) => e.name).join(', ')}`, 'invalid-input');
  return entry;
}
