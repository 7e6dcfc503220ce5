import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { fail } from '../../errors.ts';
import { loadSecret, TOKEN_ENV } from '../../runtime/auth.ts';
import { clusterYaml, probeWorkers } from '../../runtime/probe.ts';
import { formatTable, positiveInteger } from '../options.ts';

interface ProbeFlags {
  workers?: string;
  tokenFile?: string;
  out?: string;
  bytes?: number;
  medium?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('probe')
    .description(
      "measure running workers' links (delay, bandwidth both ways) and compute speed, and write the cluster file the planner reads",
    )
    .requiredOption('--workers <list>', 'comma-separated host:port of running workers (memorianova worker), one per device')
    .option('--token-file <path>', `file holding the workers' secret (or set ${TOKEN_ENV})`)
    .option('-o, --out <file>', 'write the cluster as YAML here (default: print it)')
    .option('--bytes <n>', 'bytes of each bandwidth probe, each way (default 4194304)', positiveInteger('--bytes'))
    .option('--medium <shared|switched>', 'the links share one channel (Wi-Fi) or not (switched Ethernet); default: measured')
    .option('--json', 'print one JSON object: the measurements and the cluster')
    .action(async (flags: ProbeFlags) => {
      const addresses = (flags.workers ?? '').split(',').map((w) => w.trim());
      if (addresses.some((a) => a === '')) fail('--workers: an empty address in the list', 'usage');
      if (flags.medium !== undefined && flags.medium !== 'shared' && flags.medium !== 'switched')
        fail(`--medium must be shared or switched, got '${flags.medium}'`, 'usage');
      const secret = loadSecret(flags.tokenFile);
      const { workers, medium, cluster } = await probeWorkers(addresses, {
        ...(secret === undefined ? {} : { secret }),
        ...(flags.medium === undefined ? {} : { medium: flags.medium }),
        ...(flags.bytes === undefined ? {} : { bytes: flags.bytes }),
        onWorker: (i, w) => process.stderr.write(`probed ${i + 1}/${addresses.length}: ${w.name} (${w.address})\n`),
      });
      const yaml = clusterYaml(cluster, workers, medium);
      if (flags.out !== undefined) writeFileSync(flags.out, yaml);
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ workers, medium, cluster })}\n`);
        return;
      }
      const table = formatTable(
        ['worker', 'address', 'round trip ms', 'latencyMs', 'down Mbit/s', 'up Mbit/s', 'GFLOP/s', 'memory MiB'],
        workers.map((w, i) => [
          cluster.devices[i]!.name,
          w.address,
          w.roundTripMs.toFixed(3),
          cluster.devices[i]!.latencyMs,
          cluster.devices[i]!.downlinkMbps,
          cluster.devices[i]!.uplinkMbps,
          cluster.devices[i]!.gflops,
          cluster.devices[i]!.memoryMB,
        ]),
      );
      const mediumLine =
        medium.concurrentDownlinkMbps === undefined
          ? `medium: ${medium.medium} (given)`
          : `medium: ${medium.medium} (sent to all at once: ${medium.concurrentDownlinkMbps.toFixed(0)} Mbit/s together)`;
      process.stdout.write(
        `${table}\n${mediumLine}\n${flags.out === undefined ? `\n${yaml}` : `cluster file: ${flags.out} (use it with --cluster ${flags.out})\n`}`,
      );
    });
}
