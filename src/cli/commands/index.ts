import type { Command } from 'commander';
import { register as worker } from './worker.ts';
import { register as run } from './run.ts';
import { register as profile } from './profile.ts';
import { register as exportModel } from './export.ts';
import { register as inspect } from './inspect.ts';
import { register as zoo } from './zoo.ts';
import { register as order } from './order.ts';
import { register as simulate } from './simulate.ts';
import { register as plan } from './plan.ts';
import { register as deploy } from './deploy.ts';
import { register as probe } from './probe.ts';
import { register as fit } from './fit.ts';
import { register as cluster } from './cluster.ts';

/** Every CLI command registers itself on the program; the CLI is a thin layer over the library. */
export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [
  inspect,
  zoo,
  exportModel,
  order,
  worker,
  run,
  profile,
  simulate,
  plan,
  deploy,
  probe,
  fit,
  cluster,
];
