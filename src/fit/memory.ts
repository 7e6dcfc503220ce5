import { fail } from '../errors.ts';
import type { MemoryBehaviour } from '../ir/graph.ts';
import { memoryGraphOf, type MemoryGraph } from '../memory/graph.ts';
import { evaluateOrder, type MemoryProfile } from '../memory/model.ts';
import { MemoryIndex } from '../memory/state.ts';
import { boxVolume } from '../partition/box.ts';
import type { Box } from '../partition/types.ts';
import type { PartitionContext } from '../partition/context.ts';
import type { Tile, Tiling } from './tiles.ts';

/**
 * What the memory of a tiled execution needs, computed once per (model, order): the model's memory graph, its
 * buffers (memory/state.ts) and the untiled profile of the order. Every number comes from the one memory model
 * (memory/model.ts); tiled steps only add tensors and operators to the graph it evaluates (docs/memory.md, "Tiled
 * steps").
 */
export interface FitMemory {
  ctx: PartitionContext;
  graph: MemoryGraph;
  index: MemoryIndex;
  inplace: boolean;
  /** The order as memory-graph operator indices (= ctx.opIndex). */
  order: number[];
  /** The order run layer by layer, no tiling. */
  untiled: MemoryProfile;
  tensorId: Map<string, number>;
  /** Per buffer (root tensor id): the last position of the order reading it, -1 when none. */
  lastReader: Int32Array;
}

export function fitMemory(ctx: PartitionContext, inplace = true): FitMemory {
  const graph = memoryGraphOf(ctx.model);
  const index = new MemoryIndex(graph, inplace);
  const order = ctx.opIndex;
  const untiled = evaluateOrder(graph, order, { inplace });
  const tensorId = new Map(graph.tensorNames.map((name, id) => [name, id]));
  const lastReader = new Int32Array(graph.tensorNames.length).fill(-1);
  order.forEach((op, p) => {
    for (const b of index.inputBuffers[op]!) lastReader[b] = p;
  });
  return { ctx, graph, index, inplace, order, untiled, tensorId, lastReader };
}

/** Where a group's operators go: ids of tensors made outside the group, new tensors, operators. */
interface Sink {
  outer(tensor: number): number;
  tensor(name: string, bytes: number): number;
  op(name: string, inputs: number[], outputs: number[], behaviour: MemoryBehaviour): void;
}

/**
 * The memory-graph operators of group [first, tiling.last] (docs/memory.md, "Tiled steps"): one `alloc` creating the
 * whole buffer of every exit, then tile after tile each slice as an operator on region-sized tensors (inputs from
 * outside the group are the whole held tensors), each exit's slice followed by a `write` reading it and its whole
 * buffer (the copy of the tile's share into it).
 *
 * With cached halos (docs/memory.md, "Cached halos") a position whose tile takes rows from a cache is a `cat` of the
 * cache and the slice's new rows into the tile's region (or the cache itself when the slice computes nothing), a
 * position keeping rows for the next tile a `keep` allocating them, and the tile ends with a `drop` reading its
 * caches: a cache lives from the `keep` of the tile that makes it to the end of the tile that reads it. `caches`
 * holds the caches kept by the tile before `tiles` (position → tensor); the ones the last tile keeps are returned.
 */
function emitGroup(
  fm: FitMemory,
  tiling: Tiling,
  first: number,
  sink: Sink,
  tiles: readonly Tile[] = tiling.tiles,
  alloc = true,
  caches: ReadonlyMap<number, number> = new Map(),
): Map<number, number> {
  const { ctx } = fm;
  const outputId = (p: number) => fm.tensorId.get(ctx.model.ops[ctx.opIndex[p]!]!.node.outputs[0]!)!;
  const exits = [...tiling.exits].filter((p) => p >= first).sort((x, y) => x - y);
  const whole = new Map(exits.map((p) => [p, sink.outer(outputId(p))]));
  const bytesOf = (tensor: string, box: Box) => Math.ceil(boxVolume(box) * ctx.elementBytes.get(tensor)!);
  if (alloc) sink.op(`alloc ${first}..${tiling.last}`, [], [...whole.values()], 'normal');
  let pending = new Map(caches);
  for (const tile of tiles) {
    const local = new Map<number, number>();
    const kept = new Map<number, number>();
    const read: number[] = [];
    const at = `#${tile.row},${tile.col}`;
    for (let p = first; p <= tiling.last; p++) {
      const slice = tile.slices[p - tiling.lowest];
      const cachedBox = tile.cached?.[p - tiling.lowest] ?? null;
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
          if (source != null && source.position >= first) {
            id = local.get(source.position);
            // A part the slice does not read (a Concat part outside its region) that the tile did not compute either.
            if (id === undefined && slice.inputs[j] == null) return;
          }
          // Tensors from outside the group are read whole by every tile, needed or not (they are held anyway).
          else id = sink.outer(fm.tensorId.get(tensor)!);
          if (id === undefined) fail(`tile ${at} of '${op.node.name}' reads '${tensor}', which the tile did not compute`, 'invalid-plan');
          if (!inputs.includes(id)) inputs.push(id);
        });
        const id = sink.tensor(`${output}${at}`, bytesOf(output, slice.outputs[0]!));
        sink.op(`${op.node.name}${at}`, inputs, [id], op.memory);
        held = id;
        if (cache !== undefined) {
          held = sink.tensor(`${output}${at} held`, bytesOf(output, tile.regions![p - tiling.lowest]!));
          sink.op(`cat ${output}${at}`, [cache, id], [held], 'normal');
        }
      } else held = cache!;
      if (cache !== undefined) read.push(cache);
      local.set(p, held);
      const buffer = whole.get(p);
      if (buffer !== undefined) sink.op(`write ${output}${at}`, [held, buffer], [], 'normal');
      const keptBox = tile.kept?.[p - tiling.lowest] ?? null;
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

/** Live bytes before position `p` runs in the order (any tiling of earlier positions leaves the same). */
function residentBefore(fm: FitMemory, p: number): number {
  return p === 0 ? fm.index.initialResident : fm.untiled.residentAfter[p - 1]!;
}

/** A memory graph built up by a Sink's `tensor` and `op`, evaluated in the order its operators were added. */
function subgraph(inplace: boolean) {
  const graph: MemoryGraph = { tensorNames: [], tensorBytes: [], ops: [], graphInputs: [], graphOutputs: [] };
  return {
    graph,
    tensor(name: string, bytes: number): number {
      graph.tensorBytes.push(bytes);
      return graph.tensorNames.push(name) - 1;
    },
    op(name: string, inputs: number[], outputs: number[], behaviour: MemoryBehaviour): void {
      graph.ops.push({ name, inputs, outputs, behaviour });
    },
    peakBytes: (): number =>
      evaluateOrder(
        graph,
        graph.ops.map((_, i) => i),
        { inplace },
      ).peakBytes,
  };
}

/**
 * Peak live activation bytes while group [first, tiling.last] runs: its own operators evaluated by the memory model
 * on a graph whose inputs are the buffers they read from outside (pinned unless read for the last time in the
 * group), plus every other buffer live across the group as a constant. Weights are not included.
 */
export function groupPeakBytes(fm: FitMemory, tiling: Tiling, first: number): number {
  const { index } = fm;
  const sub = subgraph(fm.inplace);
  const { graphInputs, graphOutputs } = sub.graph;
  const outer = new Map<number, number>();
  let outside = 0;
  emitGroup(fm, tiling, first, {
    outer(tensor) {
      const producer = index.producer[tensor]!;
      const buffer = producer >= 0 && fm.ctx.position.get(fm.graph.ops[producer]!.name)! >= first ? tensor : index.bufferOf[tensor]!;
      let id = outer.get(buffer);
      if (id !== undefined) return id;
      id = sub.tensor(fm.graph.tensorNames[buffer]!, index.bufferBytes[buffer]!);
      outer.set(buffer, id);
      if (buffer === tensor && producer >= 0 && fm.ctx.position.get(fm.graph.ops[producer]!.name)! >= first) {
        graphOutputs.push(id);
        return id;
      }
      graphInputs.push(id);
      outside += index.bufferBytes[buffer]!;
      if (index.pinned[buffer] === 1 || fm.lastReader[buffer]! > tiling.last) graphOutputs.push(id);
      return id;
    },
    tensor: sub.tensor,
    op: sub.op,
  });
  return residentBefore(fm, first) - outside + sub.peakBytes();
}

/**
 * The same number as groupPeakBytes, by tiles: between two tiles only the held buffers are live (every tile tensor
 * dies inside its tile), so the group's peak is the largest of the alloc step and each tile's own peak on top of
 * them, and tiles whose slices have the same sizes have the same peak. Each distinct tile but the last (where
 * inputs read for the last time die) is evaluated once. `keys[t]` names tile t's slice sizes from `first` on.
 * Falls back to groupPeakBytes when a tile skips an operator (an empty region).
 */
export function groupPeakByTiles(fm: FitMemory, tiling: Tiling, first: number, keys: readonly string[]): number {
  const { index, ctx } = fm;
  for (const tile of tiling.tiles)
    for (let p = first; p <= tiling.last; p++) if (tile.slices[p - tiling.lowest] == null) return groupPeakBytes(fm, tiling, first);
  const externals = new Map<number, boolean>();
  let exitBytes = 0;
  for (let p = first; p <= tiling.last; p++) {
    const op = ctx.model.ops[ctx.opIndex[p]!]!;
    op.node.inputs.forEach((tensor, j) => {
      if (tensor === '' || ctx.model.tensors.get(tensor)?.kind === 'weight') return;
      const source = ctx.producers[p]![j];
      if (source != null && source.position >= first) return;
      const buffer = index.bufferOf[fm.tensorId.get(tensor)!]!;
      externals.set(buffer, index.pinned[buffer] === 1 || fm.lastReader[buffer]! > tiling.last);
    });
    if (tiling.exits.has(p)) exitBytes += fm.graph.tensorBytes[fm.tensorId.get(op.node.outputs[0]!)!]!;
  }
  let outside = 0;
  for (const buffer of externals.keys()) outside += index.bufferBytes[buffer]!;
  const base = residentBefore(fm, first) - outside;
  let peak = base + outside + exitBytes;
  const seen = new Set<string>();
  const tiles = tiling.tiles;
  for (let t = 0; t < tiles.length; t++) {
    const lastTile = t === tiles.length - 1;
    if (!lastTile) {
      if (seen.has(keys[t]!)) continue;
      seen.add(keys[t]!);
    }
    const sub = subgraph(fm.inplace);
    const { graphInputs, graphOutputs } = sub.graph;
    const outer = new Map<number, number>();
    // The caches the tile before kept: live when the tile starts, dying at its end (docs/memory.md, "Cached halos").
    const caches = new Map<number, number>();
    for (let p = first; p <= tiling.last; p++) {
      const box = tiles[t]!.cached?.[p - tiling.lowest] ?? null;
      if (box === null) continue;
      const output = ctx.model.ops[ctx.opIndex[p]!]!.node.outputs[0]!;
      const id = sub.tensor(`${output} cache`, Math.ceil(boxVolume(box) * ctx.elementBytes.get(output)!));
      graphInputs.push(id);
      caches.set(p, id);
    }
    const kept = emitGroup(
      fm,
      tiling,
      first,
      {
        outer(tensor) {
          const buffer = index.bufferOf[tensor]!;
          let id = outer.get(buffer);
          if (id !== undefined) return id;
          id = sub.tensor(fm.graph.tensorNames[buffer]!, index.bufferBytes[buffer]!);
          outer.set(buffer, id);
          graphInputs.push(id);
          const held = externals.get(buffer);
          if (held === undefined || held || !lastTile) graphOutputs.push(id);
          return id;
        },
        tensor: sub.tensor,
        op: sub.op,
      },
      [tiles[t]!],
      false,
      caches,
    );
    graphOutputs.push(...kept.values());
    peak = Math.max(peak, base + sub.peakBytes());
  }
  return peak;
}

/** One piece of a fit plan: position `first` run whole (no tiling), or group [first, tiling.last] tile by tile. */
export type Segment = { first: number; tiling: null } | { first: number; tiling: Tiling };

/**
 * The memory profile of a whole tiled execution: the model's memory graph with every group replaced by its tiled
 * operators (emitGroup), evaluated by the memory model in execution order. Its peak equals the largest group peak
 * and untiled step, which is what the search adds up (a test checks it).
 */
export function planMemory(fm: FitMemory, segments: readonly Segment[], includeWeights = false, weightBytes = 0): MemoryProfile {
  const { graph } = fm;
  const tensorNames = [...graph.tensorNames];
  const tensorBytes = [...graph.tensorBytes];
  const ops: MemoryGraph['ops'] = [];
  const sink: Sink = {
    outer: (tensor) => tensor,
    tensor: (name, bytes) => {
      tensorBytes.push(bytes);
      return tensorNames.push(name) - 1;
    },
    op: (name, inputs, outputs, behaviour) => ops.push({ name, inputs, outputs, behaviour }),
  };
  for (const segment of segments) {
    if (segment.tiling === null) ops.push(graph.ops[fm.order[segment.first]!]!);
    else emitGroup(fm, segment.tiling, segment.first, sink);
  }
  const tiled: MemoryGraph = { tensorNames, tensorBytes, ops, graphInputs: graph.graphInputs, graphOutputs: graph.graphOutputs };
  return evaluateOrder(
    tiled,
    ops.map((_, i) => i),
    { inplace: fm.inplace, includeWeights },
    weightBytes,
  );
}
