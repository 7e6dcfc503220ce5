import { presetCluster } from '../../src/cluster/presets.ts';
import { BYTES_PER_MB, type Cluster, type Device } from '../../src/cluster/types.ts';

export type DeviceClass = 'pi' | 'jetson' | 'laptop';

/** The heterogeneous mix grows through this cycle: 4 devices = hetero4's multiset, 8 devices = hetero8's. */
const HETERO_CYCLE: readonly DeviceClass[] = ['pi', 'jetson', 'pi', 'laptop'];

/** A device of one of the presets' classes (docs/cluster.md), taken from the hetero8 preset so numbers have one source. */
export function deviceOfClass(kind: DeviceClass, name: string): Device {
  const source = presetCluster('hetero8')!.devices.find((d) => d.name.startsWith(kind));
  if (source === undefined) throw new Error(`hetero8 preset has no '${kind}' device`);
  return { ...source, name };
}

function clusterOf(name: string, classes: readonly DeviceClass[]): Cluster {
  const counts = new Map<DeviceClass, number>();
  const devices = classes.map((kind) => {
    const n = (counts.get(kind) ?? 0) + 1;
    counts.set(kind, n);
    return deviceOfClass(kind, `${kind}${n}`);
  });
  const preset = presetCluster('hetero8')!;
  return { name, devices, medium: preset.medium!, router: { ...preset.router } };
}

/** n Pi-class devices behind the presets' router (homo4 for n = 4). */
export function homogeneousCluster(n: number): Cluster {
  return clusterOf(
    `homo${n}`,
    Array.from({ length: n }, () => 'pi' as const),
  );
}

/** The first n devices of the cycle pi, jetson, pi, laptop, ... behind the presets' router. */
export function heterogeneousCluster(n: number): Cluster {
  return clusterOf(
    `hetero-mix${n}`,
    Array.from({ length: n }, (_, i) => HETERO_CYCLE[i % HETERO_CYCLE.length]!),
  );
}

/** The same cluster with every device's memory limit set to `bytes`. */
export function withUniformMemory(cluster: Cluster, bytes: number): Cluster {
  return { ...cluster, devices: cluster.devices.map((d) => ({ ...d, memoryMB: bytes / BYTES_PER_MB })) };
}

/**
 * The same cluster with every link (each device's uplink and downlink) set to `mbps`; on the presets' shared medium
 * that is one channel of that rate (docs/latency.md, "Links"). Per-message delays and the router are kept.
 */
export function withBandwidth(cluster: Cluster, mbps: number): Cluster {
  return { ...cluster, devices: cluster.devices.map((d) => ({ ...d, uplinkMbps: mbps, downlinkMbps: mbps })) };
}

/** n points from `low` to `high` evenly spaced on a log scale, rounded to 3 significant digits. */
export function logSweep(low: number, high: number, n: number): number[] {
  if (n === 1) return [low];
  return Array.from({ length: n }, (_, i) => Number((low * (high / low) ** (i / (n - 1))).toPrecision(3)));
}
