import { arch, platform } from 'node:os';
import * as ort from 'onnxruntime-node';
import { EXECUTION_PROVIDERS, type Device, type ExecutionProvider } from '../cluster/types.ts';
import { fail } from '../errors.ts';
import { GraphBuilder } from '../ir/builder.ts';
import { writeModelBytes } from '../onnx/write.ts';
import { SESSION_OPTIONS } from './tensors.ts';

/**
 * Where a worker's sessions run (docs/runtime.md, "Targets"): ONNX Runtime execution providers in order of
 * preference, and the intra-op threads of each session. A device of a cluster names them
 * (`executionProviders`, `threads`); the default is ONNX Runtime's CPU provider with one thread.
 */
export interface SessionTarget {
  executionProviders: ExecutionProvider[];
  threads: number;
}

export const DEFAULT_TARGET: SessionTarget = { executionProviders: ['cpu'], threads: 1 };

export function targetOf(device: Pick<Device, 'executionProviders' | 'threads'>): SessionTarget {
  return {
    executionProviders: device.executionProviders ?? DEFAULT_TARGET.executionProviders,
    threads: device.threads ?? DEFAULT_TARGET.threads,
  };
}

/** A target from a command line: a comma-separated provider list and a thread count; `flag` names the list in errors. */
export function parseTarget(list: string | undefined, threads: number | undefined, flag: string): SessionTarget {
  const names = (list ?? 'cpu').split(',').map((p) => p.trim());
  for (const name of names)
    if (!(EXECUTION_PROVIDERS as readonly string[]).includes(name))
      fail(`${flag}: unknown execution provider '${name}' (known: ${EXECUTION_PROVIDERS.join(', ')})`, 'usage');
  return { executionProviders: names as ExecutionProvider[], threads: threads ?? 1 };
}

/** The runtime's session options (tensors.ts) with the target's providers and threads. */
export function sessionOptions(target: SessionTarget = DEFAULT_TARGET): ort.InferenceSession.SessionOptions {
  return { ...SESSION_OPTIONS, executionProviders: target.executionProviders, intraOpNumThreads: target.threads };
}

/**
 * A session run's time: its CPU time with one thread (unaffected by other processes competing for the cores,
 * docs/runtime.md), its wall-clock time with more (the CPU time then adds up every thread's).
 */
export function runMs(run: { cpuMs: number; wallMs: number }, target: SessionTarget): number {
  return target.threads === 1 ? run.cpuMs : run.wallMs;
}

export const describeTarget = (target: SessionTarget): string =>
  `${target.executionProviders.join(', ')}, ${target.threads} thread${target.threads === 1 ? '' : 's'}`;

const checked = new Map<ExecutionProvider, string | null>();

/** Why a provider cannot create a session here (null: it can): a one-operator model is opened with it alone. */
async function unavailable(provider: ExecutionProvider): Promise<string | null> {
  const known = checked.get(provider);
  if (known !== undefined) return known;
  const where = `onnxruntime-node on ${platform()}/${arch()}`;
  const backends = ort.listSupportedBackends();
  let why: string | null = null;
  if (!backends.some((b) => b.name === provider)) {
    why = `execution provider '${provider}' is not available in ${where} (it has ${backends.map((b) => b.name).join(', ')})`;
  } else {
    const b = new GraphBuilder('probe', { opset: 13 });
    b.output(b.op('Relu', [b.input('x', 'float32', [1])], {}, 'relu'));
    // The provider's own loader logs its failure to stderr besides throwing it: the error says it in one line.
    ort.env.logLevel = 'fatal';
    try {
      const session = await ort.InferenceSession.create(writeModelBytes(b.build()), {
        ...SESSION_OPTIONS,
        executionProviders: [provider],
        logSeverityLevel: 4,
      });
      await session.release();
    } catch (error) {
      why = `execution provider '${provider}' cannot be used with ${where}: ${(error as Error).message.split('\n')[0]}`;
    }
  }
  checked.set(provider, why);
  return why;
}

/** Fails in one line (`where: execution provider 'x' is not available …`) unless every provider of the target works here. */
export async function checkTarget(target: SessionTarget, where: string): Promise<void> {
  for (const provider of target.executionProviders) {
    const why = await unavailable(provider);
    if (why !== null) fail(`${where}: ${why}`, 'runtime-failure');
  }
}
