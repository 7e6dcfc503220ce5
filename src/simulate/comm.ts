import type { Cluster } from '../cluster/types.ts';
import { boxVolume, fullBox, hull, intersect, isEmpty, overlaps, unionVolume } from '../partition/box.ts';
import type { PartitionContext, TensorUse } from '../partition/context.ts';
import { RecentMemo } from '../partition/memo.ts';
import type { Box, PlanSlices } from '../partition/types.ts';

/** The router as a message end (source of graph inputs, destination of graph outputs). */
export const ROUTER = -1;

export interface Delivery {
  /** Receiving device, or ROUTER. */
  device: number;
  /** The piece delivered (a region of the tensor) and its bytes. */
  box: Box;
  bytes: number;
  /** Positions of the receiver's slices that wait for this piece (none for the router). */
  readers: number[];
}

/**
 * One tensor piece leaving one holder. With a broadcasting router the holder uploads the union of the pieces
 * once and the router delivers each receiver its piece; otherwise every delivery is a message of its own.
 */
export interface Message {
  tensor: string;
  /** Holding device, or ROUTER for a graph input. */
  source: number;
  /** Position in the order of the operator whose slice it is (-1 for graph inputs): the upload waits for it. */
  producer: number;
  /** Bytes sent over the source's uplink (0 when the router is the source). */
  uploadBytes: number;
  /** Bytes the router forwards: the union of the pieces delivered to devices. */
  forwardBytes: number;
  deliveries: Delivery[];
}

export interface Communication {
  messages: Message[];
  /** [device]: tensor → the region assembled there from remote pieces (plus its own slice, if any). */
  assembled: Array<Map<string, Box>>;
}

/**
 * Every message a plan needs (docs/latency.md, "Communication"): for each materialised tensor (a synchronised
 * operator's output, or a graph input at the router) and each device reading it, the device receives from each
 * holder the part of its need (the hull of what its slices read) that the holder has and it does not.
 * Graph outputs go to the router. Messages are shared with a memo: never mutate them.
 */
export function communication(ctx: PartitionContext, slices: PlanSlices, cluster: Cluster): Communication {
  const deviceCount = cluster.devices.length;
  const plan: PlanRoutes = {
    ctx,
    slices,
    cluster,
    memo: routeMemo(ctx, cluster.router.broadcast),
    missed: [],
    routes: 0,
    messages: [],
    assembled: Array.from({ length: deviceCount }, () => new Map()),
  };
  for (const [tensor, uses] of ctx.graphInputUses) addRoute(plan, tensor, -1, 0, uses);
  for (let p = 0; p < slices.ops.length; p++) {
    const entry = slices.ops[p]!;
    if (!entry.sync) continue;
    const outputs = ctx.model.ops[entry.index]!.node.outputs;
    const consumers = ctx.consumers[p]!;
    for (let k = 0; k < consumers.length; k++) addRoute(plan, outputs[k]!, p, k, consumers[k]!);
  }
  // As for slice rows (planSlices): the new routes of a plan that mostly reuses known ones will be met again.
  const likelyReused = 2 * plan.missed.length <= plan.routes;
  for (const { cache, key, route } of plan.missed) cache.set(key, route, likelyReused);
  return { messages: plan.messages, assembled: plan.assembled };
}

/** One communication() call's state (module functions rather than closures: tsx names every closure it makes). */
interface PlanRoutes {
  ctx: PartitionContext;
  slices: PlanSlices;
  cluster: Cluster;
  memo: RouteMemo;
  missed: Array<{ cache: RecentMemo<number | string, Route>; key: number | string; route: Route }>;
  routes: number;
  messages: Message[];
  assembled: Array<Map<string, Box>>;
}

/**
 * Adds the messages of one tensor: output `output` of the operator at `producer`, or a graph input (producer -1).
 * A tensor's messages depend only on its producer's slice row and its readers' rows, so they are memoised by the
 * rows' ids (PlanSlices.rowIds; without them nothing is memoised). The key is a number when it packs exactly (the
 * row count is fixed per tensor), as Maps hash numbers much faster.
 */
function addRoute(plan: PlanRoutes, tensor: string, producer: number, output: number, uses: TensorUse[]): void {
  const { slices } = plan;
  const ids = slices.rowIds;
  if (ids === undefined) {
    collect(plan, tensor, newRoute(plan, tensor, producer, output, uses));
    return;
  }
  const newRowIds = slices.newRowIds ?? Infinity;
  let packed = producer < 0 ? GRAPH_INPUT : ids[producer]!;
  let small = packed < ROW_ID_RADIX;
  let unseen = packed >= newRowIds;
  for (const use of uses) {
    const id = ids[use.position]!;
    packed = packed * ROW_ID_RADIX + id;
    small &&= id < ROW_ID_RADIX;
    unseen ||= id >= newRowIds;
  }
  let key: number | string = packed;
  if (uses.length > 1 || !small) {
    key = `${producer < 0 ? GRAPH_INPUT : ids[producer]!}`;
    for (const use of uses) key += `,${ids[use.position]!}`;
  }
  let cache = plan.memo.get(tensor);
  if (cache === undefined) plan.memo.set(tensor, (cache = new RecentMemo(NEW_ROUTES_PER_TENSOR, ROUTES_PER_TENSOR)));
  let found = unseen ? undefined : cache.get(key);
  if (found === undefined) {
    found = newRoute(plan, tensor, producer, output, uses);
    plan.missed.push({ cache, key, route: found });
  }
  plan.routes++;
  collect(plan, tensor, found);
}

function collect(plan: PlanRoutes, tensor: string, found: Route): void {
  for (const m of found.messages) plan.messages.push(m);
  for (const [e, box] of found.assembled) plan.assembled[e]!.set(tensor, box);
}

function newRoute(plan: PlanRoutes, tensor: string, producer: number, output: number, uses: TensorUse[]): Route {
  const { ctx, slices } = plan;
  const holders: Array<{ device: number; box: Box }> = [];
  if (producer < 0) holders.push({ device: ROUTER, box: fullBox(ctx.model.tensors.get(tensor)!.shape) });
  else {
    const row = slices.ops[producer]!.slices;
    for (let d = 0; d < row.length; d++) {
      const box = row[d]?.outputs[output];
      if (box !== undefined && !isEmpty(box)) holders.push({ device: d, box });
    }
  }
  return route(plan, tensor, producer, holders, uses, producer >= 0 && ctx.isGraphOutput[producer]![output]!);
}

function route(
  plan: PlanRoutes,
  tensor: string,
  producer: number,
  holders: Array<{ device: number; box: Box }>,
  uses: TensorUse[],
  toRouter: boolean,
): Route {
  const { ctx, slices, cluster } = plan;
  const deviceCount = cluster.devices.length;
  const found: Route = { messages: [], assembled: [] };
  const eb = ctx.elementBytes.get(tensor)!;
  const needs: Array<Box | null> = new Array(deviceCount).fill(null);
  for (const use of uses) {
    const row = slices.ops[use.position]!.slices;
    for (let d = 0; d < deviceCount; d++) needs[d] = hull(needs[d]!, row[d]?.inputs[use.input] ?? null);
  }
  // The receiver's slices waiting for the tensor: the same for every holder it receives from.
  const readers: Array<number[] | null> = new Array(deviceCount).fill(null);
  for (const holder of holders) {
    const deliveries: Delivery[] = [];
    for (let e = 0; e < deviceCount; e++) {
      const need = needs[e];
      if (need == null || e === holder.device || !overlaps(need, holder.box)) continue;
      const piece = intersect(need, holder.box);
      const waiting = (readers[e] ??= readersOn(slices, uses, e));
      deliveries.push({ device: e, box: piece, bytes: boxVolume(piece) * eb, readers: waiting });
    }
    if (toRouter) deliveries.push({ device: ROUTER, box: holder.box, bytes: boxVolume(holder.box) * eb, readers: [] });
    if (deliveries.length === 0) continue;
    const groups = cluster.router.broadcast ? [deliveries] : deliveries.map((d) => [d]);
    for (const group of groups) {
      const uploadBytes = holder.device === ROUTER ? 0 : piecesVolume(group, true) * eb;
      const toRouterToo = group.some((d) => d.device === ROUTER);
      const forwardBytes = !toRouterToo && holder.device !== ROUTER ? uploadBytes : piecesVolume(group, false) * eb;
      found.messages.push({ tensor, source: holder.device, producer, uploadBytes, forwardBytes, deliveries: group });
    }
  }
  for (let e = 0; e < deviceCount; e++) {
    const need = needs[e];
    if (need == null) continue;
    let remote = false;
    let own: Box | null = null;
    for (const h of holders) {
      if (h.device === e) own ??= h.box;
      else if (!remote && overlaps(need, h.box)) remote = true;
    }
    if (remote) found.assembled.push([e, hull(need, own)!]);
  }
  return found;
}

/** Elements in the union of the deliveries' pieces (with the router's, or only the devices'). */
function piecesVolume(group: readonly Delivery[], withRouter: boolean): number {
  if (group.length === 1) return withRouter || group[0]!.device !== ROUTER ? boxVolume(group[0]!.box) : 0;
  const boxes: Box[] = [];
  for (const d of group) if (withRouter || d.device !== ROUTER) boxes.push(d.box);
  return unionVolume(boxes);
}

/** Positions of device e's slices among the readers. */
function readersOn(slices: PlanSlices, uses: readonly TensorUse[], e: number): number[] {
  const list: number[] = [];
  for (const use of uses) if (slices.ops[use.position]!.slices[e] !== null && !list.includes(use.position)) list.push(use.position);
  return list;
}

interface Route {
  messages: Message[];
  assembled: Array<[number, Box]>;
}

/** Routes remembered per tensor: new ones, and ones used again (RecentMemo: up to twice as many). */
const NEW_ROUTES_PER_TENSOR = 1;
const ROUTES_PER_TENSOR = 8;
const ROW_ID_RADIX = 2 ** 26;
/** The row id standing for the router's holding of a graph input (slice rows' ids start at 1). */
const GRAPH_INPUT = 0;
type RouteMemo = Map<string, RecentMemo<number | string, Route>>;
/** Per context, one memo for broadcasting routers and one for the others. */
const routeMemos = new WeakMap<PartitionContext, [RouteMemo, RouteMemo]>();
function routeMemo(ctx: PartitionContext, broadcast: boolean): RouteMemo {
  let memos = routeMemos.get(ctx);
  if (memos === undefined) routeMemos.set(ctx, (memos = [new Map(), new Map()]));
  return memos[broadcast ? 1 : 0];
}
