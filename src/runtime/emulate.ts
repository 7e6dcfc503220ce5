import type { Cluster, Device, DeviceProfile } from '../cluster/types.ts';
import { fail } from '../errors.ts';
import type { Model } from '../ir/graph.ts';
import { modelFingerprint } from '../model/fingerprint.ts';

/**
 * Device emulation on one machine (docs/runtime.md, "Emulating devices"). A worker standing in for a device of
 * `gflops` GFLOP/s on a host that reaches `hostGflops` stretches every measured compute interval by
 * slowdown = hostGflops / gflops (it sleeps for the extra time, leaving the cores to the other workers). A device
 * faster than the host cannot be emulated: the slowdown is then 1 and the run reports it.
 */
export function slowdownFor(device: Device, hostGflops: number): number {
  return Math.max(1, hostGflops / device.gflops);
}

/** The host's effective GFLOP/s on a model according to a profile of it: Σ FLOPs / Σ measured ms. */
export function profileGflops(model: Model, profile: DeviceProfile): number {
  const fingerprint = modelFingerprint(model);
  if (profile.model?.fingerprint !== fingerprint || profile.ops === undefined) {
    fail(
      `profile was measured on model '${profile.model?.name ?? '?'}', not on '${model.name}' (fingerprint ${fingerprint}); run \`memorianova profile\` on this model`,
      'invalid-cluster',
    );
  }
  let flops = 0;
  let ms = 0;
  for (const op of model.ops) {
    const t = profile.ops[op.node.name];
    if (t === undefined) continue;
    flops += op.cost.flops;
    ms += t;
  }
  if (!(ms > 0)) fail(`profile of '${model.name}' has no measured operator times`, 'invalid-cluster');
  return flops / (ms * 1e6);
}

/**
 * The cluster as emulated on this host, calibrated by a host profile: each device carries the host's profile
 * with every operator time and step overhead multiplied by its slowdown (and every per-type rate divided by it), which is exactly
 * what its emulating worker will do to its measured compute. The latency model then predicts the emulated run.
 */
export function emulatedCluster(cluster: Cluster, hostProfile: DeviceProfile, hostGflops: number): Cluster {
  return {
    ...cluster,
    devices: cluster.devices.map((device) => {
      const k = slowdownFor(device, hostGflops);
      const profile: DeviceProfile = {
        format: hostProfile.format,
        version: hostProfile.version,
        measuredOn: `${hostProfile.measuredOn ?? 'host'}, stretched ×${k.toFixed(3)} to emulate ${device.name}`,
      };
      if (hostProfile.model !== undefined) profile.model = hostProfile.model;
      if (hostProfile.ops !== undefined) profile.ops = Object.fromEntries(Object.entries(hostProfile.ops).map(([op, ms]) => [op, ms * k]));
      if (hostProfile.opTypes !== undefined)
        profile.opTypes = Object.fromEntries(Object.entries(hostProfile.opTypes).map(([type, g]) => [type, g / k]));
      const o = hostProfile.overheads;
      if (o !== undefined) profile.overheads = { stepMs: o.stepMs * k, msPerMiB: o.msPerMiB * k, splitPenalty: { ...o.splitPenalty } };
      return { ...device, profile };
    }),
  };
}

/**
 * `plan` / `simulate` / `run` with `--host-profile`: the cluster as this host emulates it for `model`, so one
 * calibrated model plans, simulates and predicts the emulated run (docs/runtime.md, "Emulating devices").
 */
export function calibratedCluster(model: Model, cluster: Cluster, hostProfile: DeviceProfile): Cluster {
  return emulatedCluster(cluster, hostProfile, profileGflops(model, hostProfile));
}
