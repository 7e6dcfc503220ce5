import type { Device, ExecutionOverheads } from '../cluster/types.ts';
import { boxVolume, hull } from '../partition/box.ts';
import type { PartitionContext } from '../partition/context.ts';
import type { Box } from '../partition/types.ts';
import { deviceOverheads, memoryMs, sliceMs, stepOverheadMs, wholeOpMs } from '../simulate/latency.ts';
import { exitShare, sliceShare, type Tiling } from './tiles.ts';

/** What the latency of a tiled execution needs: the one latency model's whole-operator times on the device. */
export interface FitLatency {
  ctx: PartitionContext;
  device: Device;
  /** ms of each whole operator, per position of the order (simulate/latency.ts, wholeOpMs). */
  opMs: number[];
  overheads: ExecutionOverheads | null;
}

export function fitLatency(ctx: PartitionContext, device: Device, fingerprint: string): FitLatency {
  return {
    ctx,
    device,
    opMs: ctx.opIndex.map((index) => wholeOpMs(device, ctx.model, index, fingerprint)),
    overheads: deviceOverheads(device),
  };
}

export interface GroupCost {
  latencyMs: number;
  /** FLOPs of every tile's slices minus the operators' own: the recomputed halos. */
  overheadFlops: number;
  tiles: number;
}

/**
 * Latency of group [first, tiling.last] (docs/fit.md): every tile's slices by the latency model (sliceMs: the
 * operator's time × its share of the output, × (1 + the device's rows split penalty, tokens for token chunks) when
 * the grid has several tiles), plus one step overhead per tile on the bytes crossing its border (the regions it reads from outside the
 * group, the shares it writes and, with cached halos, the cached rows it reads and keeps), when the device's profile measured overheads,
 * plus, with cached halos, the copies inside the tile (copyMs: each region assembled from cached and new rows, each kept row band).
 */
export function groupCost(fl: FitLatency, tiling: Tiling, first: number): GroupCost {
  const { ctx, overheads } = fl;
  const split = tiling.tiles.length > 1 ? (tiling.grid.kind === 'tokens' ? 'tokens' : 'rows') : null;
  let latencyMs = 0;
  let flops = 0;
  let own = 0;
  for (let p = first; p <= tiling.last; p++) own += ctx.model.ops[ctx.opIndex[p]!]!.cost.flops;
  let tiles = 0;
  for (const tile of tiling.tiles) {
    let used = false;
    const read = new Map<string, Box>();
    let written = 0;
    for (let p = first; p <= tiling.last; p++) {
      const slice = tile.slices[p - tiling.lowest];
      if (slice == null) continue;
      used = true;
      latencyMs += sliceMs(fl.opMs[p]!, sliceShare(ctx, p, slice), overheads, split);
      flops += slice.flops;
      if (overheads === null) continue;
      const node = ctx.model.ops[ctx.opIndex[p]!]!.node;
      node.inputs.forEach((tensor, j) => {
        const source = ctx.producers[p]![j];
        const box = slice.inputs[j];
        if (box == null || (source != null && source.position >= first) || ctx.model.tensors.get(tensor)?.kind === 'weight') return;
        read.set(tensor, hull(read.get(tensor) ?? null, box) ?? box);
      });
      if (tiling.exits.has(p)) written += boxVolume(exitShare(ctx, p, tiling.grid, tile.row, tile.col)) * elementBytes(ctx, p);
    }
    // Cached halos cross the tile's border too: the rows it takes from the cache and the rows it keeps. Inside the
    // tile, a Concat copies the cached rows and the new ones into the region, and the kept rows are copied out.
    let copied = 0;
    for (let p = first; p <= tiling.last; p++) {
      const cached = tile.cached?.[p - tiling.lowest];
      const kept = tile.kept?.[p - tiling.lowest];
      if (cached != null) {
        written += boxVolume(cached) * elementBytes(ctx, p);
        const computed = tile.slices[p - tiling.lowest]?.outputs[0];
        copied += (boxVolume(cached) + (computed == null ? 0 : boxVolume(computed))) * elementBytes(ctx, p);
      }
      if (kept != null) {
        written += boxVolume(kept) * elementBytes(ctx, p);
        copied += boxVolume(kept) * elementBytes(ctx, p);
      }
    }
    latencyMs += copyMs(fl.device, overheads, copied);
    if (!used) continue;
    tiles++;
    if (overheads !== null) {
      let bytes = written;
      for (const [tensor, box] of read) bytes += boxVolume(box) * ctx.elementBytes.get(tensor)!;
      latencyMs += stepOverheadMs(overheads, bytes);
    }
  }
  return { latencyMs, overheadFlops: flops - own, tiles };
}

/**
 * Copying `bytes` inside a step (the Concat and row copies of cached halos): at the profile's measured cost of a MiB
 * crossing a step's border (`msPerMiB`), else read and written once at the device's `memoryGBps`, else free.
 */
export function copyMs(device: Device, overheads: ExecutionOverheads | null, bytes: number): number {
  if (bytes === 0) return 0;
  if (overheads !== null) return (overheads.msPerMiB * bytes) / 2 ** 20;
  return device.memoryGBps === undefined ? 0 : memoryMs(2 * bytes, device.memoryGBps);
}

function elementBytes(ctx: PartitionContext, p: number): number {
  return ctx.elementBytes.get(ctx.model.ops[ctx.opIndex[p]!]!.node.outputs[0]!)!;
}
