import { fail } from '../errors.ts';
import type { GridPlacement, OpDecision, Placement } from './types.ts';
import { boxVolume, containsBox, fullBox, hull, isEmpty, withAxis } from './box.ts';
import type { PartitionContext } from './context.ts';
import type { OpGeometry } from './geometry.ts';
import { ratiosToRanges } from './ranges.ts';
import type { Box, OpSlice, PlanSlices, SplitOption, TiledStretch } from './types.ts';

export function samePlacement(a: Placement, b: Placement): boolean {
  if ('device' in a || 'device' in b) return 'device' in a && 'device' in b && a.device === b.device;
  if (a.dim === 'grid' || b.dim === 'grid')
    return a.dim === 'grid' && b.dim === 'grid' && sameList(a.rows, b.rows) && sameList(a.cols, b.cols) && sameList(a.devices, b.devices);
  return a.dim === b.dim && sameList(a.ratios, b.ratios);
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((r, i) => r === b[i]);
}

/** Checks a grid placement's form (docs/plan-format.md, "Grids"); errors start with `where`. */
function checkGrid(where: string, placement: GridPlacement, deviceCount: number): void {
  for (const [name, ratios] of [
    ['rows', placement.rows],
    ['cols', placement.cols],
  ] as const) {
    if (ratios.length === 0) fail(`${where}: grid ${name} must list at least one ratio`, 'invalid-plan');
    if (ratios.some((r) => !(r >= 0) || !Number.isFinite(r)))
      fail(`${where}: grid ${name} ratios must be finite and >= 0, got [${ratios.join(', ')}]`, 'invalid-plan');
    if (!ratios.some((r) => r > 0)) fail(`${where}: grid ${name} ratios are all 0`, 'invalid-plan');
  }
  const tiles = placement.rows.length * placement.cols.length;
  if (tiles < 2) fail(`${where}: a grid needs at least 2 tiles, got ${placement.rows.length}×${placement.cols.length}`, 'invalid-plan');
  if (placement.devices.length !== tiles)
    fail(
      `${where}: a ${placement.rows.length}×${placement.cols.length} grid needs ${tiles} devices, got ${placement.devices.length}`,
      'invalid-plan',
    );
  const seen = new Set<number>();
  for (const d of placement.devices) {
    if (!Number.isInteger(d) || d < 0 || d >= deviceCount)
      fail(`${where}: grid device ${d} does not exist (the cluster has devices 0..${deviceCount - 1})`, 'invalid-plan');
    if (seen.has(d)) fail(`${where}: grid device ${d} is listed twice (each device owns at most one tile)`, 'invalid-plan');
    seen.add(d);
  }
}

/** Each device's share of the operator's output under a placement (sums to 1 over the devices taking part). */
export function placementShares(placement: Placement, deviceCount: number): number[] {
  const shares = new Array<number>(deviceCount).fill(0);
  if ('device' in placement) shares[placement.device] = 1;
  else if (placement.dim === 'grid') {
    const rowTotal = placement.rows.reduce((a, b) => a + b, 0);
    const colTotal = placement.cols.reduce((a, b) => a + b, 0);
    const c = placement.cols.length;
    placement.devices.forEach(
      (d, t) => (shares[d] = (placement.rows[Math.floor(t / c)]! / rowTotal) * (placement.cols[t % c]! / colTotal)),
    );
  } else {
    const total = placement.ratios.reduce((a, b) => a + b, 0);
    placement.ratios.forEach((r, d) => (shares[d] = total > 0 ? r / total : 0));
  }
  return shares;
}

/**
 * Why the operator at `position` cannot be fused into its consumers (sync: false), or null when it can: it must
 * feed at least one operator, produce no graph output, and every consumer must be placed exactly like it.
 */
export function fusionBlocker(ctx: PartitionContext, decisions: readonly OpDecision[], position: number): string | null {
  if (ctx.isGraphOutput[position]!.some(Boolean)) return 'it produces a graph output';
  const own = decisions[position]!.placement;
  let readers = 0;
  for (const uses of ctx.consumers[position]!) {
    for (const use of uses) {
      readers++;
      const placement = decisions[use.position]!.placement;
      if (placement !== own && !samePlacement(placement, own)) return `its consumer '${ctx.order[use.position]}' is placed differently`;
    }
  }
  return readers === 0 ? 'no operator reads its output' : null;
}

/** Checks decisions against the context and a cluster of `deviceCount` devices; errors name the operator. */
export function checkDecisions(ctx: PartitionContext, decisions: readonly OpDecision[], deviceCount: number): void {
  if (decisions.length !== ctx.order.length)
    fail(`plan has ${decisions.length} operator decisions, the model has ${ctx.order.length} operators`, 'invalid-plan');
  decisions.forEach((decision, p) => {
    const name = ctx.order[p]!;
    if (decision.op !== name)
      fail(`plan decision ${p} is for '${decision.op}', but operator ${p} of the order is '${name}'`, 'invalid-plan');
    const where = `operator '${name}' (${ctx.space[p]!.opType})`;
    const placement = decision.placement;
    if ('device' in placement) {
      if (!Number.isInteger(placement.device) || placement.device < 0 || placement.device >= deviceCount) {
        fail(`${where}: device ${placement.device} does not exist (the cluster has devices 0..${deviceCount - 1})`, 'invalid-plan');
      }
    } else if (placement.dim === 'grid') {
      if (ctx.space[p]!.grid === null) {
        const options = ctx.space[p]!.options;
        fail(
          `${where} cannot be split by grid${options.length === 0 ? ': it runs whole on one device' : ` (it needs a rows split whose width cuts are exact); it can be split by ${options.map((o) => o.dim).join(', ')}`}`,
          'invalid-plan',
        );
      }
      checkGrid(where, placement, deviceCount);
    } else {
      const options = ctx.space[p]!.options;
      if (!options.some((o) => o.dim === placement.dim)) {
        fail(
          `${where} cannot be split by ${placement.dim}${options.length === 0 ? ': it runs whole on one device' : `; it can be split by ${options.map((o) => o.dim).join(', ')}`}`,
          'invalid-plan',
        );
      }
      if (placement.ratios.length !== deviceCount)
        fail(`${where}: ${placement.ratios.length} split ratios for ${deviceCount} devices`, 'invalid-plan');
      if (placement.ratios.some((r) => !(r >= 0) || !Number.isFinite(r)))
        fail(`${where}: split ratios must be finite and >= 0, got [${placement.ratios.join(', ')}]`, 'invalid-plan');
      if (!placement.ratios.some((r) => r > 0)) fail(`${where}: split ratios are all 0`, 'invalid-plan');
    }
    if (!decision.sync) {
      const blocker = fusionBlocker(ctx, decisions, p);
      if (blocker !== null) fail(`${where} cannot skip synchronisation: ${blocker}`, 'invalid-plan');
    }
    if (decision.tiles !== undefined) {
      const blocker = tilesBlocker(ctx, decisions, p);
      if (blocker !== null) fail(`${where} cannot take tiles ${decision.tiles}: ${blocker}`, 'invalid-plan');
    }
  });
}

/** The same decisions with `sync` turned on wherever fusion is not allowed (what search operators call after mutation). */
export function repairDecisions(ctx: PartitionContext, decisions: readonly OpDecision[]): OpDecision[] {
  const repaired = decisions.map((d, p) => (d.sync || fusionBlocker(ctx, decisions, p) === null ? d : { ...d, sync: true }));
  if (!repaired.some((d) => d.tiles !== undefined)) return repaired;
  // Then `tiles` is dropped wherever it is not allowed (it depends only on sync flags and placements, so once suffices).
  return repaired.map((d, p) => (tilesBlocker(ctx, repaired, p) === null ? d : withoutTiles(d)));
}

/** The decision without its `tiles`. */
export function withoutTiles(decision: OpDecision): OpDecision {
  const { tiles: _tiles, ...rest } = decision;
  return rest;
}

/** The row and column ranges of a grid placement of the operator at `position` (ratiosToRanges on each axis). */
export function gridRanges(
  ctx: PartitionContext,
  position: number,
  placement: GridPlacement,
): { rows: Array<[number, number]>; cols: Array<[number, number]> } {
  const axes = ctx.space[position]!.grid!;
  return {
    rows: ratiosToRanges(axes.rows.extent, placement.rows, axes.rows.granule),
    cols: ratiosToRanges(axes.colExtent, placement.cols),
  };
}

type GridRanges = ReturnType<typeof gridRanges>;

/** The tile (output 0's region) device d owns under a grid placement (its `ranges`), or null when it owns none. */
function gridTile(ctx: PartitionContext, position: number, placement: GridPlacement, ranges: GridRanges, d: number): Box | null {
  const t = placement.devices.indexOf(d);
  if (t < 0) return null;
  const { rows, cols } = ranges;
  const c = placement.cols.length;
  const row = rows[Math.floor(t / c)]!;
  const col = cols[t % c]!;
  if (row[1] <= row[0] || col[1] <= col[0]) return null;
  const box = fullBox(ctx.geometry[position]!.outputShapes[0]!);
  box[ctx.space[position]!.grid!.rows.axis] = row;
  box[ctx.space[position]!.grid!.colAxis] = col;
  return box;
}

/** The output regions each device owns under a placement (nothing where it owns none), before widening. */
function ownedRegions(
  ctx: PartitionContext,
  position: number,
  placement: Placement,
  ranges: ReadonlyArray<[number, number]> | null,
): (device: number) => Array<Box | null> {
  const shape = ctx.geometry[position]!.outputShapes[0]!;
  const outputCount = ctx.geometry[position]!.outputShapes.length;
  const full = fullBox(shape);
  if ('device' in placement) return (d) => firstOnly(placement.device === d ? full : null, outputCount);
  if (placement.dim === 'grid') {
    const grid = gridRanges(ctx, position, placement);
    return (d) => firstOnly(gridTile(ctx, position, placement, grid, d), outputCount);
  }
  const axis = splitOption(ctx, position, placement.dim).axis;
  return (d) => {
    const range = ranges![d]!;
    if (range[1] <= range[0]) return firstOnly(null, outputCount);
    const box = full.slice();
    box[axis] = range;
    return firstOnly(box, outputCount);
  };
}

/** `box` as output 0's region, nothing for the other outputs. */
function firstOnly(box: Box | null, outputCount: number): Array<Box | null> {
  const boxes: Array<Box | null> = [box];
  for (let k = 1; k < outputCount; k++) boxes.push(null);
  return boxes;
}

function splitOption(ctx: PartitionContext, position: number, dim: string): SplitOption {
  for (const option of ctx.space[position]!.options) if (option.dim === dim) return option;
  throw new Error(`operator ${ctx.order[position]} cannot be split by ${dim}`);
}

/**
 * Every device's slice of every operator (docs/partition.md). Walks the order backwards: a synchronised operator
 * computes the region its placement gives the device; a fused one computes the hull of what the device's
 * consumers read of it (its halo grows with each fused operator after it). Decisions must pass checkDecisions.
 */
export function planSlices(ctx: PartitionContext, decisions: readonly OpDecision[], deviceCount: number): PlanSlices {
  const n = ctx.order.length;
  const slices: Array<Array<OpSlice | null>> = new Array(n);
  const rowIds: number[] = new Array(n);
  const missed: number[] = [];
  const missedKeys: Array<number | string> = [];
  const newRowIds = nextRowId;
  for (let p = n - 1; p >= 0; p--) {
    const decision = decisions[p]!;
    const placement = decision.placement;
    // Rows are memoised by what determines their regions: a synchronised operator's ranges (ratio vectors
    // that round alike share a row), a fused operator's consumer rows (by their ids).
    let key: number | string;
    let ranges: Array<[number, number]> | null = null;
    let unseen = false;
    if (!decision.sync) {
      key = fusedKey(ctx, rowIds, p);
      unseen = readsNewRow(ctx, rowIds, p, newRowIds);
    } else if ('device' in placement) key = syncKey(deviceCount, 0, placement.device);
    else if (placement.dim === 'grid') {
      const grid = gridRanges(ctx, p, placement);
      key = `g${deviceCount}:${grid.rows.map((r) => r[1]).join(',')}|${grid.cols.map((r) => r[1]).join(',')}|${placement.devices.join(',')}`;
    } else {
      const option = splitOption(ctx, p, placement.dim);
      ranges = ratiosToRanges(option.extent, placement.ratios, option.granule);
      const options = ctx.space[p]!.options;
      key = rangesKey(deviceCount, options.indexOf(option), options.length, option.extent, ranges);
    }
    const known = unseen ? undefined : ctx.sliceMemo[p]!.get(key);
    if (known !== undefined) {
      slices[p] = known.row;
      rowIds[p] = known.id;
      continue;
    }
    slices[p] = sliceRow(
      ctx,
      p,
      deviceCount,
      decision.sync ? ownedRegions(ctx, p, placement, ranges) : (d) => neededRegions(ctx, slices, p, d),
    );
    rowIds[p] = nextRowId++;
    missed.push(p);
    missedKeys.push(key);
  }
  // A plan that mostly reuses known rows is a search's variation of a plan it keeps: its new rows will be met again.
  const likelyReused = 2 * missed.length <= n;
  for (let i = 0; i < missed.length; i++) {
    const p = missed[i]!;
    ctx.sliceMemo[p]!.set(missedKeys[i]!, { row: slices[p]!, id: rowIds[p]! }, likelyReused);
  }
  const result: PlanSlices = {
    ops: slices.map((row, p) => ({ op: ctx.order[p]!, index: ctx.opIndex[p]!, sync: decisions[p]!.sync, slices: row })),
    rowIds,
    newRowIds,
  };
  for (const decision of decisions) {
    if (decision.tiles === undefined) continue;
    result.tiled = tiledStretches(ctx, decisions, slices, rowIds, deviceCount);
    break;
  }
  return result;
}

/** Whether a consumer's row was made in this planSlices call (id >= newRowIds): then no memo key holds its id. */
function readsNewRow(ctx: PartitionContext, rowIds: readonly number[], position: number, newRowIds: number): boolean {
  for (const uses of ctx.consumers[position]!) for (const use of uses) if (rowIds[use.position]! >= newRowIds) return true;
  return false;
}

// Memo keys are numbers where they stay exact (below 2^53), since a Map hashes a number far faster than a fresh
// string: a synchronised row's key is >= 0 (device count, kind and value in mixed radix), a fused row's < 0.
const DEVICE_RADIX = 64;
const ROW_ID_RADIX = 2 ** 26;

function syncKey(deviceCount: number, kind: 0 | 1, value: number): number | string {
  const key = (value * 2 + kind) * DEVICE_RADIX + deviceCount;
  return deviceCount < DEVICE_RADIX && key <= Number.MAX_SAFE_INTEGER ? key : `s${deviceCount},${kind},${value}`;
}

/** A split row's key: the end of every range but the last (which ends at the extent), then which option. */
function rangesKey(
  deviceCount: number,
  option: number,
  options: number,
  extent: number,
  ranges: ReadonlyArray<[number, number]>,
): number | string {
  let packed = 0;
  for (let d = 0; d + 1 < ranges.length; d++) packed = packed * (extent + 1) + ranges[d]![1];
  packed = packed * options + option;
  return packed <= Number.MAX_SAFE_INTEGER ? syncKey(deviceCount, 1, packed) : `r${deviceCount},${option}:${ranges.join(',')}`;
}

/** A fused row's key: its consumers' row ids (their count is fixed per position, so packing one or two is exact). */
function fusedKey(ctx: PartitionContext, rowIds: readonly number[], position: number): number | string {
  let packed = 0;
  let count = 0;
  let small = true;
  for (const uses of ctx.consumers[position]!) {
    for (const use of uses) {
      const id = rowIds[use.position]!;
      packed = packed * ROW_ID_RADIX + id;
      small &&= id < ROW_ID_RADIX;
      count++;
    }
  }
  if (count <= 2 && small) return -1 - packed;
  let text = 'f';
  for (const uses of ctx.consumers[position]!) for (const use of uses) text += `,${rowIds[use.position]!}`;
  return text;
}

/** The bounding box of what the device's consumer slices read of each output of the operator at `position`. */
function neededRegions(
  ctx: PartitionContext,
  slices: ReadonlyArray<Array<OpSlice | null>>,
  position: number,
  device: number,
): Array<Box | null> {
  const consumers = ctx.consumers[position]!;
  const regions: Array<Box | null> = new Array(consumers.length);
  for (let k = 0; k < consumers.length; k++) {
    let region: Box | null = null;
    for (const use of consumers[k]!) region = hull(region, slices[use.position]![device]?.inputs[use.input] ?? null);
    regions[k] = region;
  }
  return regions;
}

/**
 * Row ids name slice rows in memo keys: every row planSlices makes gets the next one, and the memo keeps it with the
 * row, so equal ids mean equal rows. Id 0 is the graph inputs' (comm.ts).
 */
let nextRowId = 1;

/** A memoised slice row and its id. */
export interface MemoRow {
  row: Array<OpSlice | null>;
  id: number;
}

/** Each device's slice of the operator at `position`, given the output regions it must compute. */
function sliceRow(
  ctx: PartitionContext,
  position: number,
  deviceCount: number,
  regions: (device: number) => Array<Box | null>,
): Array<OpSlice | null> {
  const geometry = ctx.geometry[position]!;
  const opFlops = ctx.model.ops[ctx.opIndex[position]!]!.cost.flops;
  const fullVolume = ctx.outputVolume[position]!;
  const row: Array<OpSlice | null> = new Array(deviceCount).fill(null);
  for (let d = 0; d < deviceCount; d++) row[d] = sliceOf(geometry, opFlops, fullVolume, d, regions(d));
  return row;
}

/**
 * Device d's slice of an operator (its geometry, FLOPs and output elements) computing `outputs` (widened); null when
 * none of them is non-empty.
 */
function sliceOf(geometry: OpGeometry, opFlops: number, fullVolume: number, d: number, outputs: Array<Box | null>): OpSlice | null {
  let computes = false;
  let complete = true;
  for (const box of outputs) {
    if (box === null) complete = false;
    else if (!isEmpty(box)) computes = true;
  }
  if (!computes) return null;
  const wide = geometry.widen(
    complete ? (outputs as Box[]) : outputs.map((box, k) => box ?? withAxis(fullBox(geometry.outputShapes[k]!), 0, 0, 0)),
  );
  const { inputs, overrides } = geometry.inputs(wide);
  const flops = fullVolume === 0 ? 0 : (opFlops * boxVolume(wide[0]!)) / fullVolume;
  return overrides === undefined ? { device: d, outputs: wide, inputs, flops } : { device: d, outputs: wide, inputs, flops, overrides };
}

/**
 * The positions of the fused stretch a synchronised operator ends (TiledStretch), in order, or why `tiles` cannot
 * go on it: it must be synchronised and split, at least one fused operator must feed it, and every fused operator
 * whose output reaches it only through fused operators must be read only inside the stretch.
 */
export function tiledStretchOf(ctx: PartitionContext, decisions: readonly OpDecision[], sink: number): number[] | string {
  const decision = decisions[sink]!;
  if (!decision.sync) return 'it skips synchronisation (tiles go on the synchronised operator that ends a fused stretch)';
  if ('device' in decision.placement) return 'it runs whole on one device (tiles need a split placement)';
  const members = new Set([sink]);
  const stack = [sink];
  while (stack.length > 0) {
    const p = stack.pop()!;
    for (const source of ctx.producers[p]!) {
      if (source === null || decisions[source.position]!.sync || members.has(source.position)) continue;
      members.add(source.position);
      stack.push(source.position);
    }
  }
  if (members.size === 1) return 'no fused operator feeds it';
  for (const p of members) {
    if (p === sink) continue;
    for (const uses of ctx.consumers[p]!)
      for (const use of uses)
        if (!members.has(use.position))
          return `its fused operator '${ctx.order[p]}' is also read by '${ctx.order[use.position]}', outside the stretch`;
  }
  return [...members].sort((a, b) => a - b);
}

/** Why `tiles` is not allowed on the decision at `position` (see tiledStretchOf), or null when it is (or is absent). */
export function tilesBlocker(ctx: PartitionContext, decisions: readonly OpDecision[], position: number): string | null {
  const tiles = decisions[position]!.tiles;
  if (tiles === undefined) return null;
  if (!Number.isInteger(tiles) || tiles < 2) return `tiles must be an integer >= 2, got ${tiles}`;
  const stretch = tiledStretchOf(ctx, decisions, position);
  return typeof stretch === 'string' ? stretch : null;
}

/**
 * Every tiled stretch's sub-tiles (TiledStretch), device by device: the device's range of the sink's split axis is
 * cut into `tiles` near-equal parts (ratiosToRanges with equal ratios, in whole granules); sub-tile t computes part
 * t of the sink and, walking the stretch backwards, of every fused operator the hull of what the sub-tile's later
 * slices read of it. Every region a sub-tile reads from outside the stretch lies inside the device's untiled slice's.
 */
function tiledStretches(
  ctx: PartitionContext,
  decisions: readonly OpDecision[],
  slices: ReadonlyArray<Array<OpSlice | null>>,
  rowIds: readonly number[],
  deviceCount: number,
): TiledStretch[] {
  const stretches: TiledStretch[] = [];
  let memo = tiledMemo.get(ctx);
  if (memo === undefined) tiledMemo.set(ctx, (memo = new Map()));
  if (memo.size > TILED_MEMO_SIZE) memo.clear();
  decisions.forEach((decision, sink) => {
    if (decision.tiles === undefined) return;
    const positions = tiledStretchOf(ctx, decisions, sink) as number[];
    // The sub-tiles follow from the sink's row (its ranges), the count and the stretch's positions.
    const key = `${sink}:${decision.tiles}:${rowIds[sink]}:${positions.join(',')}`;
    const known = memo.get(key);
    if (known !== undefined) {
      stretches.push(known);
      return;
    }
    // Sub-tiles cut the device's owned region of the sink along the split axis (a grid's: along its rows).
    const placement = decision.placement as Exclude<Placement, { device: number }>;
    const option = placement.dim === 'grid' ? ctx.space[sink]!.grid!.rows : splitOption(ctx, sink, placement.dim);
    const owned = ownedRegions(
      ctx,
      sink,
      placement,
      placement.dim === 'grid' ? null : ratiosToRanges(option.extent, placement.ratios, option.granule),
    );
    const index = new Map(positions.map((p, i) => [p, i]));
    const outputCount = ctx.geometry[sink]!.outputShapes.length;
    const devices: TiledStretch['devices'] = [];
    for (let d = 0; d < deviceCount; d++) {
      const region = owned(d)[0] ?? null;
      const [r0, r1] = region?.[option.axis] ?? [0, 0];
      if (slices[sink]![d] == null || region === null || r1 <= r0) {
        devices.push(null);
        continue;
      }
      const tiles: Array<Array<OpSlice | null>> = [];
      for (const [s, e] of ratiosToRanges(r1 - r0, new Array<number>(decision.tiles).fill(1), option.granule)) {
        if (e <= s) continue;
        const tile: Array<OpSlice | null> = new Array(positions.length).fill(null);
        for (let i = positions.length - 1; i >= 0; i--) {
          const p = positions[i]!;
          let outputs: Array<Box | null>;
          if (p === sink) outputs = firstOnly(withAxis(region, option.axis, r0 + s, r0 + e), outputCount);
          else
            outputs = ctx.consumers[p]!.map((uses) => {
              let region: Box | null = null;
              for (const use of uses) region = hull(region, tile[index.get(use.position)!]?.inputs[use.input] ?? null);
              return region;
            });
          tile[i] = sliceOf(ctx.geometry[p]!, ctx.model.ops[ctx.opIndex[p]!]!.cost.flops, ctx.outputVolume[p]!, d, outputs);
        }
        checkHeld(ctx, slices, positions, index, tile, d, sink, tiles.length);
        tiles.push(tile);
      }
      devices.push(tiles);
    }
    const stretch = { sink, positions, tiles: decision.tiles, devices };
    memo.set(key, stretch);
    stretches.push(stretch);
  });
  return stretches;
}

/** Tiled stretches by what determines them (tiledStretches' key), per context; shared, so never mutated. */
const tiledMemo = new WeakMap<PartitionContext, Map<string, TiledStretch>>();
const TILED_MEMO_SIZE = 4096;

/** Fails unless every activation region the sub-tile reads from outside the stretch lies inside the device's untiled slice's. */
function checkHeld(
  ctx: PartitionContext,
  slices: ReadonlyArray<Array<OpSlice | null>>,
  positions: readonly number[],
  index: ReadonlyMap<number, number>,
  tile: ReadonlyArray<OpSlice | null>,
  d: number,
  sink: number,
  t: number,
): void {
  positions.forEach((p, i) => {
    const sub = tile[i];
    if (sub == null) return;
    const whole = slices[p]![d];
    const node = ctx.model.ops[ctx.opIndex[p]!]!.node;
    sub.inputs.forEach((box, j) => {
      const tensor = node.inputs[j]!;
      if (box == null || tensor === '' || ctx.weightReaders.has(tensor) || isEmpty(box)) return;
      const source = ctx.producers[p]![j];
      if (source != null && index.has(source.position)) return;
      const held = whole?.inputs[j];
      if (held == null || !containsBox(held, box))
        fail(
          `operator '${ctx.order[sink]}' with tiles: sub-tile ${t} of '${ctx.order[p]}' on device ${d} reads more of '${tensor}' than the untiled slice holds`,
          'invalid-plan',
        );
    });
  });
}
