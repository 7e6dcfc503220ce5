import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { fail } from '../errors.ts';
import { freshToken, secretFrom, TOKEN_ENV, type Secret } from './auth.ts';

const BIN = fileURLToPath(new URL('../../bin/memorianova.js', import.meta.url));

export interface LocalWorkers {
  addresses: string[];
  pids: number[];
  /** The secret made for this run, which the workers got through their environment. */
  secret: Secret;
  /** How a worker's process ended (undefined while it runs). */
  exitOf(worker: number): string | undefined;
  /** Kills every worker still running and waits for them to exit. */
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
let hooked = false;

/** Children die with the coordinator: on exit, and on SIGINT/SIGTERM (then the signal's usual exit status). */
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      for (const child of live) child.kill('SIGKILL');
      process.kill(process.pid, signal);
    });
  }
}

/**
 * Starts `count` workers as child processes of this one (`node bin/memorianova.js worker --listen 127.0.0.1:0
 * --exit-with-parent`), each on a free port it reports on its first stdout line. `extraArgs(i)` adds per-worker
 * flags (--memory-limit, --slowdown ...). A worker also exits by itself when its stdin closes, i.e. when this
 * process dies without the chance to kill it. The workers share a fresh secret, passed in their environment
 * (never on the command line, which every local user can read), so other local users cannot use them.
 */
export async function startLocalWorkers(
  count: number,
  extraArgs: (worker: number) => string[] = () => [],
  startTimeoutMs = 60_000,
): Promise<LocalWorkers> {
  hookExit();
  const token = freshToken();
  const children: ChildProcess[] = [];
  const exits: Array<string | undefined> = new Array(count).fill(undefined);
  const exited: Array<Promise<void>> = [];
  const stop = async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await Promise.all(exited);
  };
  try {
    const addresses = await Promise.all(
      Array.from({ length: count }, (_, i) => {
        const child = spawn(
          process.execPath,
          [BIN, 'worker', '--listen', '127.0.0.1:0', '--name', `local${i}`, '--exit-with-parent', ...extraArgs(i)],
          { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, [TOKEN_ENV]: token } },
        );
        children.push(child);
        live.add(child);
        let stderr = '';
        child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
        exited.push(
          new Promise<void>((resolve) =>
            child.once('exit', (code, signal) => {
              live.delete(child);
              exits[i] =
                signal !== null
                  ? `process ${child.pid} was killed by ${signal}`
                  : `process ${child.pid} exited with code ${code}${stderr.trim() === '' ? '' : `: ${stderr.trim().split('\n').pop()}`}`;
              resolve();
            }),
          ),
        );
        return new Promise<string>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`local worker ${i} did not start within ${startTimeoutMs} ms`)), startTimeoutMs);
          const lines = createInterface({ input: child.stdout! });
          lines.once('line', (line) => {
            clearTimeout(timer);
            const match = /^listening (\S+)$/.exec(line.trim());
            if (match === null) reject(new Error(`local worker ${i} printed '${line}' instead of its address`));
            else resolve(match[1]!);
          });
          child.once('exit', () => {
            clearTimeout(timer);
            reject(new Error(`local worker ${i} exited before listening: ${stderr.trim().split('\n').pop() ?? ''}`));
          });
        });
      }),
    );
    return { addresses, pids: children.map((c) => c.pid!), secret: secretFrom(token, 'the local secret'), exitOf: (i) => exits[i], stop };
  } catch (error) {
    await stop();
    fail((error as Error).message, 'runtime-failure');
  }
}
