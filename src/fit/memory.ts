import type { MemoryBehaviour } from '../ir/graph.ts';
import { memoryGraphOf, type MemoryGraph } from '../memory/graph.ts';
import { evaluateOrder, type MemoryProfile } from '../memory/model.ts';
import { MemoryIndex } from '../memory/state.ts';
import { boxVolume } from '../partition/box.ts';
import { emitTiles, type TileSink } from '../memory/tiled.ts';
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

/**
 * The memory-graph operators of group [first, tiling.last] (docs/memory.md, "Tiled steps", "Cached halos"): the
 * shared tiled-step rules (memory/tiled.ts, emitTiles) on the group's positions, exits from `first` on; `outer` takes
 * memory-graph tensor ids. `caches` holds the caches kept by the tile before `tiles`; the last tile's are returned.
 */
function emitGroup(
  fm: FitMemory,
  tiling: Tiling,
  first: number,
  sink: { outer(tensor: number): number } & Omit<TileSink, 'outer'>,
  tiles: readonly Tile[] = tiling.tiles,
  alloc = true,
  caches: ReadonlyMap<number, number> = new Map(),
): Map<number, number> {
  const positions: number[] = [];
  for (let p = first; p <= tiling.last; p++) positions.push(p);
  const exits = [...tiling.exits].filter((p) => p >= first).sort((x, y) => x - y);
  const at = (p: number) => p - tiling.lowest;
  return emitTiles(
    fm.ctx,
    { positions, inGroup: (p) => p >= first, exits },
    tiles.map((tile) => ({
      label: `#${tile.row},${tile.col}`,
      slice: (p: number) => tile.slices[at(p)] ?? null,
      region: (p: number) => tile.regions?.[at(p)] ?? null,
      cached: (p: number) => tile.cached?.[at(p)] ?? null,
      kept: (p: number) => tile.kept?.[at(p)] ?? null,
    })),
    { outer: (tensor) => sink.outer(fm.tensorId.get(tensor)!), tensor: sink.tensor, op: sink.op },
    alloc,
    caches,
  );
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
 * dies inside its tile), and with cached halos the caches the tile before kept (live from the tile's start, dying at
 * its end), so the group's peak is the largest of the alloc step and each tile's own peak on top of them, and tiles
 * whose slices (and caches) have the same sizes have the same peak. Each distinct tile but the last (where
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
  const sink = {
    outer: (tensor: number) => tensor,
    tensor: (name: string, bytes: number) => {
      tensorBytes.push(bytes);
      return tensorNames.push(name) - 1;
    },
    op: (name: string, inputs: number[], outputs: number[], behaviour: MemoryBehaviour) => ops.push({ name, inputs, outputs, behaviour }),
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
