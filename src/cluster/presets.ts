import type { Cluster, Device, Medium, Router } from './types.ts';

/**
 * Device classes behind the presets. Every number and its published source: docs/cluster.md ("Presets").
 * `gflops` is the effective FP32 rate a DNN inference framework reaches on the device (ResNet-50's 8.22 GFLOP over
 * its measured latency), not its peak.
 */
const DEVICE_CLASSES = {
  /** Raspberry Pi 4 (4× Cortex-A72 1.5 GHz): ResNet-50 FP32 in 335 ms (ncnn, 4 threads). */
  pi: { gflops: 24, memoryMB: 1024, memoryGBps: 5 },
  /** Jetson Nano (128-core Maxwell GPU): ResNet-50 in 81.7 ms at FP16 (PyTorch), FP32 at half the FP16 rate. */
  jetson: { gflops: 50, memoryMB: 2048, memoryGBps: 11 },
  /** A 4-core x86 CPU: ResNet-50 FP32 in 44.35 ms (ONNX Runtime, Core i7-4790). */
  laptop: { gflops: 185, memoryMB: 4096, memoryGBps: 11 },
  /** Emulation-sized: slow enough that any host emulates it (a worker can only slow itself down). */
  emu: { gflops: 6, memoryMB: 1024 },
} satisfies Record<string, Pick<Device, 'gflops' | 'memoryMB' | 'memoryGBps'>>;

/** Measured link classes: rate per direction (Mbit/s) and per-hop delay (ms). */
const LINKS = {
  /** Wi-Fi through one access point: a single station's measured throughput, a few-ms round trip. */
  wifi: { uplinkMbps: 91, downlinkMbps: 91, latencyMs: 1 },
  /** Gigabit Ethernet through a switch: iperf3's 941 Mbit/s, a sub-millisecond round trip. */
  gbe: { uplinkMbps: 941, downlinkMbps: 941, latencyMs: 0.2 },
} satisfies Record<string, Pick<Device, 'uplinkMbps' | 'downlinkMbps' | 'latencyMs'>>;

type DeviceClass = keyof typeof DEVICE_CLASSES;
type LinkClass = keyof typeof LINKS;

/** Wi-Fi shares one channel's airtime; a switch gives every device its own full-duplex link. */
const MEDIUM: Record<LinkClass, Medium> = { wifi: 'shared', gbe: 'switched' };
const ROUTER: Record<LinkClass, Router> = {
  wifi: { name: 'router', latencyMs: 0, broadcast: true },
  gbe: { name: 'switch', latencyMs: 0, broadcast: true },
};

function cluster(name: string, classes: DeviceClass[], link: LinkClass = 'wifi'): Cluster {
  const counts = new Map<DeviceClass, number>();
  const devices = classes.map((kind) => {
    const n = (counts.get(kind) ?? 0) + 1;
    counts.set(kind, n);
    return { name: `${kind}${n}`, ...DEVICE_CLASSES[kind], ...LINKS[link] };
  });
  return { name, devices, medium: MEDIUM[link], router: { ...ROUTER[link] } };
}

const repeat = (kind: DeviceClass, n: number): DeviceClass[] => Array.from({ length: n }, () => kind);

const PRESETS: Record<string, () => Cluster> = {
  homo2: () => cluster('homo2', repeat('pi', 2)),
  homo4: () => cluster('homo4', repeat('pi', 4)),
  homo6: () => cluster('homo6', repeat('pi', 6)),
  homo8: () => cluster('homo8', repeat('pi', 8)),
  hetero4: () => cluster('hetero4', ['pi', 'pi', 'jetson', 'laptop']),
  hetero8: () => cluster('hetero8', [...repeat('pi', 4), 'jetson', 'jetson', 'laptop', 'laptop']),
  'hetero4-gbe': () => cluster('hetero4-gbe', ['pi', 'pi', 'jetson', 'laptop'], 'gbe'),
  emu4: () => cluster('emu4', repeat('emu', 4)),
};

export const PRESET_NAMES = Object.keys(PRESETS);

export const DEVICE_CLASS_NAMES = Object.keys(DEVICE_CLASSES);

/** A fresh device of a preset class (`pi`, `jetson`, `laptop`) named after it, or undefined for an unknown class. */
export function presetDevice(kind: string): Device | undefined {
  if (!(kind in DEVICE_CLASSES)) return undefined;
  return { name: kind, ...DEVICE_CLASSES[kind as DeviceClass], ...LINKS.wifi };
}

/** A fresh copy of a preset cluster, or undefined for an unknown name. */
export function presetCluster(name: string): Cluster | undefined {
  return PRESETS[name]?.();
}
