/**
 * The dimensions an operator's output can be split along (docs/plan-format.md, docs/partition.md):
 * - `rows`: output height H of NCHW tensors (convolution, pooling, element-wise);
 * - `channels`: output channels (C of NCHW, the last axis of Gemm/MatMul and of [B,T,C] tensors); weights split with them;
 * - `tokens`: the sequence axis (rows of MatMul/Gemm, T of [B,T,C] and of [B,heads,T,d]);
 * - `heads`: attention heads (axis 1 of [B,heads,T,d] tensors).
 */
export type SplitDim = 'rows' | 'channels' | 'tokens' | 'heads';

export const SPLIT_DIMS: readonly SplitDim[] = ['rows', 'channels', 'tokens', 'heads'];

/**
 * Where an operator runs: whole on one device (index into `cluster.devices`), or split along `dim` with one
 * non-negative ratio per device (0 = the device takes no part; ratios need not sum to 1).
 */
export type Placement = { device: number } | { dim: SplitDim; ratios: number[] } | GridPlacement;

/**
 * A 2-D grid over the two spatial axes of an NCHW output (docs/plan-format.md, "Grids"): H is cut into
 * `rows.length` bands by the ratios `rows`, W into `cols.length` bands by `cols` (ratiosToRanges on each axis), and
 * the tile of row band i and column band j goes to device `devices[i × cols.length + j]` (row-major; each device
 * at most once; a device not listed takes no part). Offered where the operator can be split by `rows` and a cut of
 * its W axis needs no widening (gridOption).
 */
export interface GridPlacement {
  dim: 'grid';
  rows: number[];
  cols: number[];
  devices: number[];
}

/** The placement is a split along one dim (not whole on a device, not a grid). */
export function isStripe(p: Placement): p is { dim: SplitDim; ratios: number[] } {
  return 'ratios' in p;
}

/**
 * One operator's decision. `sync: true` (a synchronisation point) materialises the operator's output as the
 * devices' slices; consumers fetch what they need through the router. `sync: false` fuses the operator into
 * its consumers (which must all have the same placement): each device computes the region its own consumer
 * slices need (halo included, recomputed where regions overlap) and nothing is communicated in between.
 */
export interface OpDecision {
  op: string;
  placement: Placement;
  sync: boolean;
  /**
   * Only on a synchronised split operator that ends a fused stretch (docs/plan-format.md, "Tiles"): each device
   * computes its region of the stretch as `tiles` (an integer >= 2) sub-tiles one after another, along the split
   * axis. Communication is unchanged; compute (halos recomputed per sub-tile) and memory (the sub-tile working set,
   * docs/memory.md "Tiled steps") change.
   */
  tiles?: number;
}

/**
 * A rectangular region of a tensor: one half-open range [start, end) per axis. The full tensor of shape s is
 * [[0, s0], [0, s1], ...]. An empty region has some end <= start.
 */
export type Box = Array<[number, number]>;

/**
 * One way an operator can be split: `dim` names it, `axis` is the output axis it cuts, `extent` that axis' size.
 * Ranges are whole multiples of `granule`: the output channels per group of a grouped convolution, the
 * elements per channel of a Flatten/Reshape that merges axes, else 1.
 */
export interface SplitOption {
  dim: SplitDim;
  axis: number;
  extent: number;
  granule: number;
}

/**
 * The two axes a grid placement cuts (GridPlacement): the `rows` option's axis (H) and the axis after it (W, whose
 * cuts need no widening).
 */
export interface GridAxes {
  rows: SplitOption;
  colAxis: number;
  colExtent: number;
}

/** The partition space of one operator (index = position in `model.ops`). */
export interface OpSpace {
  op: string;
  index: number;
  opType: string;
  /** Empty when the operator runs whole on one device. */
  options: SplitOption[];
  /** The axes a grid placement cuts, or null when the operator cannot take a grid (gridAxesOf). */
  grid: GridAxes | null;
}

/**
 * Attribute changes a device's slice needs so that running the operator on exactly its input regions yields
 * exactly its output region (the runtime applies them to the sub-model):
 * - `pads`: ONNX `pads` for Conv/MaxPool/AveragePool ([begin..., end...] over spatial axes): the operator's own
 *   pads where the region touches the input's border, 0 inside (all other attributes, ceil_mode too, stay);
 * - `group`: Conv's `group` for a slice of a grouped convolution (the groups its channels span);
 * - `shape`: the target shape of Reshape (the output region's extents).
 */
export interface SliceOverrides {
  pads?: number[];
  group?: number;
  shape?: number[];
}

/** What one device computes for one operator. */
export interface OpSlice {
  device: number;
  /** Region of each output the device computes (same order as node.outputs). */
  outputs: Box[];
  /**
   * Region of each input it reads (same order as node.inputs; null for an omitted optional input or an input
   * the slice does not need, e.g. a Concat part outside the region). Weight inputs' regions are weight slices.
   */
  inputs: Array<Box | null>;
  /** FLOPs of the slice: the operator's FLOPs × (output elements of the slice / output elements of the operator). */
  flops: number;
  overrides?: SliceOverrides;
}

/** Per-operator, per-device slices of a whole plan, in plan order. */
export interface PlanSlices {
  ops: Array<{
    op: string;
    /** Index into model.ops. */
    index: number;
    sync: boolean;
    /** One entry per device; null where the device does not take part. */
    slices: Array<OpSlice | null>;
  }>;
  /** The tiled stretches of the plan (decisions with `tiles`), by sink position; absent when there are none. */
  tiled?: TiledStretch[];
  /** Per position, the id planSlices gave the row (equal ids, equal rows): what memos downstream key on. */
  rowIds?: number[];
  /** Rows with ids from this one on were made for these slices (no memo holds them yet). */
  newRowIds?: number;
}

/**
 * A fused stretch run as sub-tiles (OpDecision.tiles): the synchronised operator `sink` and the fused operators whose
 * outputs reach it only through fused operators, every one of them read only inside the stretch. Each device runs
 * the stretch at the sink's place in the order, sub-tile after sub-tile; the plan's slices of these positions stay
 * the untiled regions (the hull of the sub-tiles'), which is what communication is made of.
 */
export interface TiledStretch {
  sink: number;
  /** The stretch's positions (its fused operators and the sink), in plan order. */
  positions: number[];
  tiles: number;
  /**
   * Per device (null where it takes no part): its non-empty sub-tiles, each with one slice per entry of
   * `positions` (null where the sub-tile needs nothing of that operator).
   */
  devices: Array<Array<Array<OpSlice | null>> | null>;
}
