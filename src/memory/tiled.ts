import { fail } from '../errors.ts';
import type { MemoryBehaviour } from '../ir/graph.ts';
import { boxVolume } from '../partition/box.ts';
import type { PartitionContext } from '../partition/context.ts';
import type { Box, OpSlice } from '../partition/types.ts';

/**
 * Where a tiled group's memory-model operators go (docs/memory.md, "Tiled steps"): `outer` gives the id of a tensor
 * as held outside the tiles (an input from outside the group, or an exit's whole buffer; an id < 0 is a tensor the
 * sink does not hold, nothing to count), `tensor` makes a new one.
 */
export interface TileSink {
  outer(tensor: string): number;
  tensor(name: string, bytes: number): number;
  op(name: string, inputs: number[], outputs: number[], behaviour: MemoryBehaviour): void;
}

/** A group run tile by tile: its positions in order, which positions belong to it, and its exits (positions, in order). */
export interface TiledGroup {
  positions: readonly number[];
  inGroup(position: number): boolean;
  exits: readonly number[];
}

/**
 * One tile: a label for its tensors and operators, and per position of the group its slice (null: none) and, with
 * cached halos (docs/memory.md, "Cached halos"), the region it holds, the rows it takes from the previous tile's
 * cache and the rows it keeps for the next tile (null: none).
 */
export interface TileSlices {
  label: string;
  slice(position: number): OpSlice | null;
  region?(position: number): Box | null;
  cached?(position: number): Box | null;
  kept?(position: number): Box | null;
}

/**
 * THE tiled-step rules of the memory model (docs/memory.md, "Tiled steps"), shared by `fit` (src/fit/memory.ts) and
 * the cluster simulator's tiled stretches (src/simulate/memory.ts): one `alloc` creating the whole buffer of every
 * exit, then tile after tile each slice as an operator on region-sized tensors (inputs from outside the group are
 * the whole held tensors), each exit's slice followed by a `write` reading it and its whole buffer (the copy of the
 * tile's share into it).
 *
 * With cached halos a position whose tile takes rows from a cache is a `cat` of the cache and the slice's new rows
 * into the tile's region (tileGroupCached never leaves such a slice empty; were it, the cache would be the region), a
 * position keeping rows for the next tile a `keep` allocating them, and the tile ends with a `drop` reading its caches:
 * a cache lives from the `keep` of the tile that makes it to the end of the tile that reads it. `caches` holds the caches kept by the tile before
 * `tiles` (position → tensor); the ones the last tile keeps are returned.
 */
export function emitTiles(
  ctx: PartitionContext,
  group: TiledGroup,
  tiles: readonly TileSlices[],
  sink: TileSink,
  alloc = true,
  caches: ReadonlyMap<number, number> = new Map(),
): Map<number, number> {
  const outputOf = (p: number) => ctx.model.ops[ctx.opIndex[p]!]!.node.outputs[0]!;
  const whole = new Map(group.exits.map((p) => [p, sink.outer(outputOf(p))]));
  const bytesOf = (tensor: string, box: Box) => Math.ceil(boxVolume(box) * ctx.elementBytes.get(tensor)!);
  if (alloc) sink.op(`alloc ${group.positions[0]}..${group.positions[group.positions.length - 1]}`, [], [...whole.values()], 'normal');
  let pending = new Map(caches);
  for (const tile of tiles) {
    const local = new Map<number, number>();
    const kept = new Map<number, number>();
    const read: number[] = [];
    const at = tile.label;
    for (const p of group.positions) {
      const slice = tile.slice(p);
      const cachedBox = tile.cached?.(p) ?? null;
      const cache = cachedBox === null ? undefined : pending.get(p);
      if (cachedBox !== null && cache === undefined) throw new Error(`tile ${at} of position ${p} reads a cache no tile kept`);
      if (slice == null && cache === undefined) continue;
      const op = ctx.model.ops[ctx.opIndex[p]!]!;
      const output = op.node.outputs[0]!;
      let held: number;
      if (slice != null) {
        const inputs: number[] = [];
        op.node.inputs.forEach((tensor, j) => {
          if (tensor === '' || ctx.model.tensors.get(tensor)?.kind === 'weight') return;
          const source = ctx.producers[p]![j];
          let id: number | undefined;
          if (source != null && group.inGroup(source.position)) {
            id = local.get(source.position);
            // A part the slice does not read (a Concat part outside its region) that the tile did not compute either.
            if (id === undefined && slice.inputs[j] == null) return;
          }
          // Tensors from outside the group are read whole by every tile, needed or not (they are held anyway).
          else {
            id = sink.outer(tensor);
            if (id < 0) return;
          }
          if (id === undefined) fail(`tile ${at} of '${op.node.name}' reads '${tensor}', which the tile did not compute`, 'invalid-plan');
          if (!inputs.includes(id)) inputs.push(id);
        });
        const id = sink.tensor(`${output}${at}`, bytesOf(output, slice.outputs[0]!));
        sink.op(`${op.node.name}${at}`, inputs, [id], op.memory);
        held = id;
        if (cache !== undefined) {
          held = sink.tensor(`${output}${at} held`, bytesOf(output, tile.region!(p)!));
          sink.op(`cat ${output}${at}`, [cache, id], [held], 'normal');
        }
      } else held = cache!;
      if (cache !== undefined) read.push(cache);
      local.set(p, held);
      const buffer = whole.get(p);
      if (buffer !== undefined) sink.op(`write ${output}${at}`, [held, buffer], [], 'normal');
      const keptBox = tile.kept?.(p) ?? null;
      if (keptBox !== null) {
        const id = sink.tensor(`${output}${at} cache`, bytesOf(output, keptBox));
        sink.op(`keep ${output}${at}`, [held], [id], 'normal');
        kept.set(p, id);
      }
    }
    if (read.length > 0) sink.op(`drop caches${at}`, read, [], 'normal');
    pending = kept;
  }
  return pending;
}
