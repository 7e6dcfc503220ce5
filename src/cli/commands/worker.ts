import type { Command } from 'commander';
import { loadCluster } from '../../cluster/load.ts';
import { fail } from '../../errors.ts';
import { parseHostPort } from '../../runtime/address.ts';
import { loadSecret, TOKEN_ENV } from '../../runtime/auth.ts';
import { slowdownFor } from '../../runtime/emulate.ts';
import { loadDeviceBundle } from '../../runtime/bundle.ts';
import { residentBytes } from '../../runtime/memory.ts';
import { startWorker } from '../../runtime/worker.ts';
import { positiveNumber } from '../options.ts';

interface WorkerFlags {
  listen: string;
  name?: string;
  memoryLimit?: number;
  emulate?: string;
  cluster?: string;
  hostGflops?: number;
  exitWithParent?: boolean;
  tokenFile?: string;
  bundle?: string;
}

export function register(program: Command): void {
  program
    .command('worker')
    .description('run a worker: receives its part of a plan, builds its ONNX sub-models and executes them (docs/runtime.md)')
    .requiredOption('--listen <host:port>', 'address to listen on (port 0 picks a free one; the address is printed)')
    .option('--name <name>', 'name used in messages (default worker@host:port)')
    .option(
      '--memory-limit <MiB>',
      'fail a step when resident memory grows more than this above the idle baseline',
      positiveNumber('--memory-limit'),
    )
    .option('--emulate <device>', 'stretch compute to the speed of this device of --cluster')
    .option('--cluster <preset|file>', 'cluster file or preset naming the --emulate device')
    .option(
      '--host-gflops <n>',
      "this machine's effective GFLOP/s for --emulate (from `memorianova profile`)",
      positiveNumber('--host-gflops'),
    )
    .option('--token-file <path>', `file holding the secret coordinators must prove they know (or set ${TOKEN_ENV}); required off loopback`)
    .option(
      '--bundle <dir>',
      'run this device folder of a bundle (memorianova deploy): verified and loaded at start; programs and weights from the network are refused',
    )
    .option('--exit-with-parent', 'exit when standard input closes (how `run --local` ties workers to itself)')
    .action(async (flags: WorkerFlags) => {
      const { host, port } = parseHostPort(flags.listen, '--listen', true);
      let slowdown: number | undefined;
      if (flags.emulate !== undefined) {
        if (flags.cluster === undefined || flags.hostGflops === undefined) fail('--emulate needs --cluster and --host-gflops', 'usage');
        const cluster = loadCluster(flags.cluster);
        const device = cluster.devices.find((d) => d.name === flags.emulate);
        if (device === undefined)
          fail(
            `--emulate: cluster '${cluster.name}' has no device '${flags.emulate}' (it has ${cluster.devices.map((d) => d.name).join(', ')})`,
            'usage',
          );
        slowdown = slowdownFor(device, flags.hostGflops);
      }
      const secret = loadSecret(flags.tokenFile);
      const baselineBytes = residentBytes();
      const bundle = flags.bundle === undefined ? undefined : await loadDeviceBundle(flags.bundle);
      if (bundle !== undefined)
        process.stderr.write(
          `bundle ${flags.bundle}: device '${bundle.manifest.device.name}' of '${bundle.manifest.model.name}' (fingerprint ${bundle.manifest.model.fingerprint}), ` +
            `${bundle.steps.length} sub-models verified and loaded in ${bundle.loadMs.toFixed(0)} ms\n`,
        );
      const worker = await startWorker({
        ...(bundle === undefined ? {} : { bundle, baselineBytes }),
        host,
        port,
        ...(secret === undefined ? {} : { secret }),
        ...(flags.name === undefined ? {} : { name: flags.name }),
        ...(flags.memoryLimit === undefined ? {} : { memoryLimitBytes: Math.floor(flags.memoryLimit * 2 ** 20) }),
        ...(slowdown === undefined ? {} : { slowdown }),
      });
      if (secret === undefined)
        process.stderr.write(`warning: no secret (--token-file or ${TOKEN_ENV}): any local user can use this worker\n`);
      process.stdout.write(`listening ${worker.address}\n`);
      const stop = () => void worker.close().then(() => process.exit(0));
      if (flags.exitWithParent) {
        process.stdin.on('end', stop);
        process.stdin.on('close', stop);
        process.stdin.resume();
      }
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
}
