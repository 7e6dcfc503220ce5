import { stringify } from 'yaml';
import type { Cluster } from './types.ts';

const HEADER = `# MemoriaNova cluster file: edit the values, then pass it as --cluster FILE (docs/cluster.md).
# name: the cluster's name in plans and reports.
# medium: switched (every device its own full-duplex link) or shared (one channel, e.g. a Wi-Fi access point's airtime).
# router: name; latencyMs, its own delay per message; broadcast, whether one send reaches several devices;
#   forwardingMbps (optional), a forwarding-rate limit.
# devices, each:
#   gflops        effective compute rate, GFLOP/s (a multiply-add counts 2)
#   memoryMB      memory for the model's weights and activations, MiB (2^20 bytes)
#   uplinkMbps    device -> router rate, Mbit/s (10^6 bit/s); downlinkMbps router -> device
#   latencyMs     per-message delay of the device's link, per hop, ms
#   memoryGBps    (optional) sustained memory bandwidth, GB/s (10^9 bytes/s)
#   profile       (optional) a profile file from memorianova profile, relative to this file
#   efficiency, executionProviders, threads: optional, see docs/cluster.md
`;

/** A cluster as an editable, commented YAML file that `loadCluster` reads back to the same cluster (profiles inlined). */
export function clusterYaml(cluster: Cluster): string {
  const { name, medium, router, devices } = cluster;
  return HEADER + stringify({ name, medium, router, devices }, { lineWidth: 0 });
}
