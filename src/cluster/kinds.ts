import type { Device } from './types.ts';

/** A key equal for devices alike in everything but their name (they run every plan alike). */
export function deviceKind(device: Device): string {
  return JSON.stringify({ ...device, name: '' });
}

/** The cluster's devices grouped by kind, in order of first appearance: the first device of each kind and how many. */
export function deviceKinds(devices: readonly Device[]): Array<{ first: number; count: number }> {
  const kinds = new Map<string, { first: number; count: number }>();
  devices.forEach((device, d) => {
    const key = deviceKind(device);
    const kind = kinds.get(key);
    if (kind === undefined) kinds.set(key, { first: d, count: 1 });
    else kind.count++;
  });
  return [...kinds.values()];
}
