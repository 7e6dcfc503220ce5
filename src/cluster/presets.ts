import type { Cluster, Device } from './types.ts';

/**
 * Device classes behind the presets. Numbers and their sources: docs/cluster.md. `gflops` is the effective
 * FP32 rate a DNN inference framework reaches on the device, not its peak.
 */
const DEVICE_CLASSES = {
  /** Raspberry Pi 4 (4× Cortex-A72 1.5 GHz, 2 GB board), 802.11ac Wi-Fi. */
  pi: { gflops: 10, memoryMB: 1024, uplinkMbps: 100, downlinkMbps: 100, latencyMs: 10 },
  /** Jetson Nano (128-core Maxwell GPU, 236 GFLOP/s FP32 peak, 4 GB shared), Wi-Fi. */
  jetson: { gflops: 60, memoryMB: 2048, uplinkMbps: 100, downlinkMbps: 100, latencyMs: 10 },
  /** A 4-core laptop CPU with AVX2, Wi-Fi 5. */
  laptop: { gflops: 80, memoryMB: 4096, uplinkMbps: 300, downlinkMbps: 300, latencyMs: 5 },
} satisfies Record<string, Omit<Device, 'name'>>;

type DeviceClass = keyof typeof DEVICE_CLASSES;

/** A Wi-Fi access point: the medium is shared, so forwarding is serialised at its effective rate. */
const ROUTER = { name: 'router', forwardingMbps: 600, latencyMs: 0.5, broadcast: true };

function cluster(name: string, classes: DeviceClass[]): Cluster {
  const counts = new Map<DeviceClass, number>();
  const devices = classes.map((kind) => {
    const n = (counts.get(kind) ?? 0) + 1;
    counts.set(kind, n);
    return { name: `${kind}${n}`, ...DEVICE_CLASSES[kind] };
  });
  return { name, devices, router: { ...ROUTER } };
}

const repeat = (kind: DeviceClass, n: number): DeviceClass[] => Array.from({ length: n }, () => kind);

const PRESETS: Record<string, () => Cluster> = {
  homo2: () => cluster('homo2', repeat('pi', 2)),
  homo4: () => cluster('homo4', repeat('pi', 4)),
  homo6: () => cluster('homo6', repeat('pi', 6)),
  homo8: () => cluster('homo8', repeat('pi', 8)),
  hetero4: () => cluster('hetero4', ['pi', 'pi', 'jetson', 'laptop']),
  hetero8: () => cluster('hetero8', [...repeat('pi', 4), 'jetson', 'jetson', 'laptop', 'laptop']),
};

export const PRESET_NAMES = Object.keys(PRESETS);

/** A fresh copy of a preset cluster, or undefined for an unknown name. */
export function presetCluster(name: string): Cluster | undefined {
  return PRESETS[name]?.();
}
