import { fail } from '../errors.ts';
import type { ZooEntry } from './entry.ts';
import { bertBase } from './bert.ts';
import { googlenet } from './googlenet.ts';
import { inceptionv3 } from './inception.ts';
import { gpt2 } from './gpt2.ts';
import { mobilenetv3Large } from './mobilenet.ts';
import { qwen2 } from './qwen2.ts';
import { regnety400mf } from './regnet.ts';
import { resnet50 } from './resnet.ts';
import { squeezenet10 } from './squeezenet.ts';
import { vgg13 } from './vgg.ts';
import { yolov2 } from './yolo.ts';

export type { ZooBuildOptions, ZooDefaults, ZooEntry } from './entry.ts';
export { countParams } from '../ir/params.ts';

/** The built-in models, in the order the paper lists them. */
export const ZOO: ZooEntry[] = [
  vgg13,
  resnet50,
  inceptionv3,
  mobilenetv3Large,
  squeezenet10,
  googlenet,
  regnety400mf,
  bertBase,
  gpt2,
  qwen2,
  yolov2,
];

export function zooEntry(name: string): ZooEntry {
  const entry = ZOO.find((e) => e.name === name);
  if (entry === undefined) fail(`unknown model '${name}'; built-in models: ${ZOO.map((e) => e.name).join(', ')}`, 'invalid-input');
  return entry;
}
