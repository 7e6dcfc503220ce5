import { loadCluster } from '../cluster/load.ts';
import { DEVICE_CLASS_NAMES, presetDevice } from '../cluster/presets.ts';
import type { Device } from '../cluster/types.ts';
import { fail } from '../errors.ts';

/**
 * The one device a fit runs on: a preset device class (`pi`, `jetson`, `laptop`; docs/cluster.md) or
 * `<cluster>:<device>`, a device of a cluster file or preset cluster named by its name (`cluster.yaml:board2`,
 * `hetero4:jetson1`).
 */
export function resolveDevice(spec: string): Device {
  const preset = presetDevice(spec);
  if (preset !== undefined) return preset;
  const colon = spec.lastIndexOf(':');
  if (colon <= 0 || colon === spec.length - 1)
    fail(`--device must be a device class (${DEVICE_CLASS_NAMES.join(', ')}) or <cluster file>:<device name>, got '${spec}'`, 'usage');
  const cluster = loadCluster(spec.slice(0, colon));
  const name = spec.slice(colon + 1);
  const device = cluster.devices.find((d) => d.name === name);
  if (device === undefined)
    fail(`cluster '${cluster.name}' has no device '${name}' (devices: ${cluster.devices.map((d) => d.name).join(', ')})`, 'usage');
  return device;
}
