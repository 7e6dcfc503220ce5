import { devicesBySpeed } from '../baselines/common.ts';
import { deviceKind } from '../cluster/kinds.ts';
import { elementCount } from '../ir/dtype.ts';
import { boxVolume } from '../partition/box.ts';
import { placementShares, repairDecisions } from '../partition/slices.ts';
import type { PartitionContext } from '../partition/context.ts';
import { isStripe, type SplitDim } from '../partition/types.ts';
import type { Simulator } from '../simulate/simulate.ts';
import { dimsOf, normalizeRatios, samePlacementKey, tileableSinks, withTiles, type Chromosome } from './encoding.ts';
import type { Evaluated } from './fitness.ts';
import { balancedRatios, gridShapes, sharesToGrid, type MutationSpace } from './operators.ts';
import { applyPattern, boundariesOf, type Structure } from './structure.ts';

/** Evaluates a seed plan, or returns undefined once the seeding budget is spent (seeding then stops). */
export type SeedEvaluate = (chromosome: Chromosome) => Evaluated | undefined;

/** Split-dimension preferences the split-everything seeds try, by layout. */
const PREFERENCES: Record<'cnn' | 'sequence', SplitDim[][]> = {
  cnn: [
    ['rows', 'channels'],
    ['channels', 'rows'],
  ],
  sequence: [
    ['tokens', 'channels', 'heads'],
    ['heads', 'channels', 'tokens'],
    ['channels', 'heads', 'tokens'],
  ],
};

/** Factors the home device's share of a fused prefix is swept over. */
export const HOME_SHARES = [0.5, 0.7, 1.4, 2];

/**
 * Home shares (of the whole) swept too, and those of the offload seeds: a helper taking a small share of a layer costs
 * little airtime (its rows in and out) and computes while the home device does, so home-heavy splits pay on a
 * slow shared channel where balanced ones do not.
 */
export const HOME_FRACTIONS = [0.6, 0.7, 0.8, 0.9];

/** `ratios` with the home device's share set to `share` and the others' scaled to the rest. */
export function withHomeShare(ratios: readonly number[], home: number, share: number): number[] | null {
  const others = ratios.reduce((sum, r, d) => (d === home ? sum : sum + r), 0);
  if (!(others > 0)) return null;
  return normalizeRatios(ratios.map((r, d) => (d === home ? share : ((1 - share) * r) / others)));
}

/**
 * Positions that gather under `chromosome`: some device's slice computes only part of the operator's output but reads
 * the whole of an activation input not small next to that part (at least an eighth of it: attention's query × key and
 * scores × value products under a token split, where every query row needs every key and value, but not the
 * broadcast attention mask).
 */
export function gatheringOps(simulator: Simulator, chromosome: Chromosome): boolean[] {
  const ctx = simulator.context;
  const slices = simulator.slices(chromosome);
  return slices.ops.map((op, p) => {
    const node = ctx.model.ops[op.index]!.node;
    return op.slices.some((slice) => {
      if (slice === null || slice.outputs[0] === undefined) return false;
      const part = boxVolume(slice.outputs[0]);
      if (part >= ctx.outputVolume[p]!) return false;
      return slice.inputs.some((box, i) => {
        const name = node.inputs[i]!;
        if (box === null || name === '' || ctx.weightReaders.has(name)) return false;
        const whole = elementCount(ctx.model.tensors.get(name)!.shape);
        return boxVolume(box) >= whole && 8 * whole >= part;
      });
    });
  });
}

/**
 * The positions an offload seed keeps whole on the home device: the gathering operators, the operators between two
 * of them in one repeated block (descendants of one that are ancestors of another) and, walking backwards, every
 * operator all of whose consumers are kept (their outputs would only travel home).
 */
export function offloadHome(ctx: PartitionContext, blockOf: readonly number[], gathering: readonly boolean[]): boolean[] {
  const n = ctx.order.length;
  const consumers = ctx.consumers.map((outputs) => outputs.flat().map((use) => use.position));
  const inBlock = (p: number, c: number) => blockOf[p]! >= 0 && blockOf[c] === blockOf[p];
  const after = new Array<boolean>(n).fill(false);
  for (let p = 0; p < n; p++) if (gathering[p] || after[p]) for (const c of consumers[p]!) if (inBlock(p, c)) after[c] = true;
  const before = new Array<boolean>(n).fill(false);
  const home = [...gathering];
  for (let p = n - 1; p >= 0; p--) {
    before[p] = consumers[p]!.some((c) => inBlock(p, c) && (gathering[c] || before[c]));
    if (after[p] && before[p]) home[p] = true;
  }
  for (let p = n - 1; p >= 0; p--) {
    const own = consumers[p]!;
    if (!home[p] && own.length > 0 && !ctx.isGraphOutput[p]!.some(Boolean) && own.every((c) => home[c])) home[p] = true;
  }
  return home;
}

/** Home shares (of the whole) the network's head is swept over, on the best HEAD_BASES seeds and the best offload seed. */
export const HEAD_FRACTIONS = [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8];
const HEAD_BASES = 2;

/**
 * Where the network's head starts (a classifier, a language-model head): the end of the last stage of at least two
 * repeated blocks; 0 without such a stage.
 */
export function headStart(structure: Structure): number {
  return Math.max(0, ...structure.stages.filter((s) => s.blocks.length >= 2).map((s) => s.end));
}

/** Fused prefixes tried (ends), at most. */
const MAX_PREFIX_ENDS = 6;

/**
 * How many times each operator of `chromosome` (repaired) is computed over: Σ over devices of its output region's
 * elements / its output's elements (1 = no halo; k = every one of k devices computes it whole); 0 for operators
 * whole on one device.
 */
export function redundancy(simulator: Simulator, chromosome: Chromosome): number[] {
  const ctx = simulator.context;
  const slices = simulator.slices(chromosome);
  return slices.ops.map((op, p) => {
    if ('device' in chromosome[p]!.placement) return 0;
    let volume = 0;
    for (const slice of op.slices) if (slice !== null && slice.outputs[0] !== undefined) volume += boxVolume(slice.outputs[0]);
    return volume / Math.max(1, ctx.outputVolume[p]!);
  });
}

/**
 * `chromosome` with synchronisation added where halos cost too much: walking each fused stretch from its end
 * backwards, the redundant compute (r − 1) × the operator's mean whole time over the devices taking part, divided by
 * their number, accumulates (r from `redundancy`); where it passes `limitMs` the operator is synchronised, and the walk
 * goes on below it with the halos recomputed.
 */
export function syncWhereHalosGrow(simulator: Simulator, chromosome: Chromosome, limitMs: number): Chromosome {
  const ctx = simulator.context;
  let current = repairDecisions(ctx, chromosome);
  let below = current.length;
  for (;;) {
    const r = redundancy(simulator, current);
    let worst = -1;
    let extra = 0;
    for (let p = below - 1; p >= 0 && worst < 0; p--) {
      const placement = current[p]!.placement;
      if (current[p]!.sync || 'device' in placement) {
        extra = 0;
        continue;
      }
      let time = 0;
      let count = 0;
      placementShares(placement, simulator.opMs.length).forEach(
        (share, d) => share > 0 && (count++, (time += simulator.opMs[d]![ctx.opIndex[p]!]!)),
      );
      extra += ((r[p]! - 1) * time) / Math.max(1, count * count);
      if (extra > limitMs) worst = p;
    }
    if (worst < 0) return current;
    current[worst] = { ...current[worst]!, sync: true };
    current = repairDecisions(ctx, current);
    below = worst;
  }
}

/** A segment's synchronisation policy in the split-everything seeds. */
type SyncPolicy = 'fused' | 'blocks' | 'every';

/**
 * The plans a domain expert would try first, built from the structure (docs/geneflow.md, "Structured seeds") and
 * evaluated in turn until `evaluate` says the budget is spent. A region plan splits the operators before `end`
 * (by a preference of dimensions; an operator offering none runs on the home device, the fastest) with given
 * shares, and runs the rest whole on the home device:
 * 1. family patterns: each given seed with the decisions of one block of a family copied onto every block of that
 *    family (the seed's distinct patterns on the family, the most expensive blocks' first, up to two);
 * 2. layer-parallel plans: the whole model split (spatial dimension first, or channels/heads first) over the k
 *    fastest devices for every k with speed-proportional shares, fused, synchronised once per block (a transformer
 *    layer, a bottleneck) and at the cuts outside blocks; and the same with synchronisation added where halos cost
 *    more than 1% of the fastest device's whole-model time (`syncWhereHalosGrow`);
 * 3. fused prefixes: the operators up to a stage end or start, block end or cut (up to 6 ends) split by rows
 *    (tokens) over every subset of ≥ 2 devices holding the home device (one per multiset of device kinds), and all
 *    devices but it (past five devices: the k fastest, and the k fastest but the fastest), speed-proportional
 *    shares, fused, synchronised only at the end;
 * 4. split everything, synchronised where it pays: the best layer-parallel plan's shares and dimensions, each stage
 *    (and each stretch between stages) in turn tried fused throughout, synchronised per block and synchronised at
 *    every operator, the best kept (one pass, measured by the simulator); then each block in turn tried
 *    synchronised at every operator and only at its end;
 * 5. the home device's share of the three best prefixes and of the best plan of 4 swept over × 0.5, 0.7, 1.4, 2,
 *    and set to HOME_FRACTIONS of the whole;
 * 6. offload plans: the gathering operators whole on the home device, the rest split (`offloadHome`), tried
 *    right after 2;
 * 7. the network's head (`headStart`) re-shared (home share HEAD_FRACTIONS) on the two best seeds and the best
 *    offload seed.
 * A seed plan costs a fresh simulation (no slices shared with plans seen before), several times a GA child's.
 */
export function structuredSeeds(
  simulator: Simulator,
  space: MutationSpace,
  structure: Structure,
  given: readonly Chromosome[],
  evaluate: SeedEvaluate,
): Evaluated[] {
  const ctx = simulator.context;
  const n = ctx.order.length;
  const deviceCount = simulator.cluster.devices.length;
  const bySpeed = devicesBySpeed(simulator);
  const home = bySpeed[0]!;
  const kind = ctx.layout.kind;
  const spatial: SplitDim[] = [kind === 'cnn' ? 'rows' : 'tokens'];
  const wholeMs = Math.min(...simulator.opMs.map((row) => row.reduce((s, t) => s + t, 0)));
  const out: Evaluated[] = [];
  let spent = false;
  const tryPlan = (chromosome: Chromosome): Evaluated | undefined => {
    if (spent) return undefined;
    const e = evaluate(chromosome);
    if (e === undefined) spent = true;
    else out.push(e);
    return e;
  };
  const mask = (devices: readonly number[]) => simulator.cluster.devices.map((_, d) => devices.includes(d));
  const kFastest = (k: number) => mask(bySpeed.slice(0, k));
  const blockCost = (b: number) => {
    let cost = 0;
    for (const p of structure.blocks[b]!.canonical) cost += space.weights[p]!;
    return cost;
  };
  // Synchronisation once per block, and at the cuts outside blocks.
  const blockSync = new Set<number>([n - 1]);
  for (const b of structure.blocks) blockSync.add(b.end - 1);
  for (const c of structure.cuts) if (structure.blockOf[c - 1] === -1) blockSync.add(c - 1);

  const region = (end: number, preference: readonly SplitDim[], ratios: number[], sync: (p: number) => boolean): Chromosome =>
    ctx.order.map((op, p) => {
      const dim = p < end ? preference.find((d) => dimsOf(ctx, p).includes(d)) : undefined;
      if (dim === undefined) return { op, placement: { device: home }, sync: true };
      return { op, placement: { dim, ratios }, sync: sync(p) || p === end - 1 };
    });
  type Candidate = { plan: (ratios: number[]) => Chromosome; ratios: number[]; fitness: number };
  const sweepHome = (best: readonly Candidate[]) => {
    for (const { plan, ratios } of best) {
      if (!(ratios[home]! > 0)) continue;
      for (const factor of HOME_SHARES) {
        if (tryPlan(plan(normalizeRatios(ratios.map((r, d) => (d === home ? r * factor : r)))!)) === undefined) return;
      }
      for (const share of HOME_FRACTIONS) {
        const shifted = withHomeShare(ratios, home, share);
        if (shifted !== null && tryPlan(plan(shifted)) === undefined) return;
      }
    }
  };

  const familyPatterns = () => {
    for (const seed of given) {
      for (const family of structure.families) {
        // The seed's distinct patterns on the family's blocks, the most expensive blocks' first, up to two.
        const patterns = new Map<string, number>();
        for (const b of [...family.blocks].sort((x, y) => blockCost(y) - blockCost(x))) {
          const key = structure.blocks[b]!.canonical.map((p) => `${samePlacementKey(seed[p]!.placement)}${seed[p]!.sync}`).join(';');
          if (!patterns.has(key)) patterns.set(key, b);
        }
        for (const from of [...patterns.values()].slice(0, 2)) {
          if (tryPlan(applyPattern(ctx, structure, seed, from, family.blocks)) === undefined) return;
        }
      }
    }
  };

  let layerBest: { preference: readonly SplitDim[]; ratios: number[]; fitness: number } | undefined;
  const layerParallel = () => {
    for (let k = deviceCount; k >= 2; k--) {
      const ratios = balancedRatios(space, 0, n, kFastest(k))!;
      for (const preference of PREFERENCES[kind]) {
        const plan = region(n, preference, ratios, (p) => blockSync.has(p));
        for (const candidate of [plan, syncWhereHalosGrow(simulator, plan, wholeMs / 100)]) {
          const e = tryPlan(candidate);
          if (e === undefined) return;
          if (layerBest === undefined || e.fitness < layerBest.fitness) layerBest = { preference, ratios, fitness: e.fitness };
        }
      }
    }
  };

  // Stage ends, and the starts of the stages after them (past a pooling between stages: a smaller tensor to gather).
  const stageEnds = [...new Set(structure.stages.flatMap((s) => [s.start, s.end]))].filter((e) => e > 0 && e < n).sort((a, b) => a - b);
  const spread = (items: readonly number[], count: number) =>
    items.length <= count ? [...items] : Array.from({ length: count }, (_, i) => items[Math.floor(((i + 0.5) * items.length) / count)]!);

  const prefixes = () => {
    const others = boundariesOf(structure, n).filter((b) => b < n && !stageEnds.includes(b));
    const first = spread(stageEnds, MAX_PREFIX_ENDS);
    const ends = [...new Set([...first, ...spread(others, MAX_PREFIX_ENDS - first.length)])].sort((a, b) => a - b);
    const subsets: number[][] = [];
    if (deviceCount <= 5) {
      // Devices equal in everything but the name are interchangeable: one subset per multiset of kinds.
      const kinds = simulator.cluster.devices.map(deviceKind);
      const seen = new Set<string>();
      for (let m = 1; m < 1 << deviceCount; m += 2) {
        const devices = bySpeed.filter((_, i) => (m >> i) & 1);
        const kindKey = devices
          .slice(1)
          .map((d) => kinds[d])
          .sort()
          .join('|');
        if (devices.length < 2 || seen.has(kindKey)) continue;
        seen.add(kindKey);
        subsets.push(devices);
      }
      subsets.sort((a, b) => b.length - a.length);
      if (deviceCount >= 3) subsets.push(bySpeed.slice(1));
    } else {
      for (let k = deviceCount; k >= 2; k--) subsets.push(bySpeed.slice(0, k), bySpeed.slice(1, k + 1));
    }
    const tried: Candidate[] = [];
    for (const end of ends) {
      const plan = (ratios: number[]) => region(end, spatial, ratios, () => false);
      for (const devices of subsets) {
        const ratios = balancedRatios(space, 0, end, mask(devices));
        if (ratios === null) continue;
        const e = tryPlan(plan(ratios));
        if (e === undefined) return [];
        tried.push({ plan, ratios, fitness: e.fitness });
      }
    }
    return tried.sort((a, b) => a.fitness - b.fitness).slice(0, 3);
  };

  // Segments: the stages and the stretches between them; each gets a synchronisation policy.
  const segments: Array<[number, number]> = [];
  let at = 0;
  for (const stage of structure.stages) {
    if (stage.start > at) segments.push([at, stage.start]);
    segments.push([stage.start, stage.end]);
    at = stage.end;
  }
  if (at < n) segments.push([at, n]);
  const segmentOf = new Array<number>(n);
  segments.forEach(([from, to], i) => segmentOf.fill(i, from, to));
  const policyDescent = (): Candidate[] => {
    if (layerBest === undefined) return [];
    const { preference } = layerBest;
    const policies: SyncPolicy[] = segments.map(() => 'blocks');
    const syncOf = (p: number) => {
      const policy = policies[segmentOf[p]!]!;
      return policy === 'every' || p === segments[segmentOf[p]!]![1] - 1 || (policy === 'blocks' && blockSync.has(p));
    };
    const plan = (ratios: number[]) => region(n, preference, ratios, syncOf);
    let best = layerBest.fitness;
    for (let i = 0; i < segments.length; i++) {
      const kept = policies[i]!;
      let choice = kept;
      for (const policy of ['fused', 'every'] as const) {
        policies[i] = policy;
        const e = tryPlan(plan(layerBest.ratios));
        if (e === undefined) return [];
        if (e.fitness < best) [best, choice] = [e.fitness, policy];
      }
      policies[i] = choice;
    }
    // Then each block in turn: synchronised at every operator, or only at its end.
    const blockPolicy = new Array<'segment' | 'fused' | 'every'>(structure.blocks.length).fill('segment');
    const syncIn = (p: number) => {
      const b = structure.blockOf[p]!;
      const own = b < 0 ? 'segment' : blockPolicy[b]!;
      if (own === 'segment') return syncOf(p);
      return own === 'every' || p === structure.blocks[b]!.end - 1;
    };
    const blockPlan = (ratios: number[]) => region(n, preference, ratios, syncIn);
    for (let b = 0; b < structure.blocks.length; b++) {
      let choice: (typeof blockPolicy)[number] = 'segment';
      for (const policy of ['fused', 'every'] as const) {
        blockPolicy[b] = policy;
        const e = tryPlan(blockPlan(layerBest.ratios));
        if (e === undefined) return [];
        if (e.fitness < best) [best, choice] = [e.fitness, policy];
      }
      blockPolicy[b] = choice;
    }
    return [{ plan: blockPlan, ratios: layerBest.ratios, fitness: best }];
  };

  // Offload: the layer-parallel plan with the gathering region whole on the home device, the rest at home-heavy shares.
  const offload = (): Evaluated[] => {
    const tried: Evaluated[] = [];
    const preference = PREFERENCES[kind][0]!;
    const blockSynced = (ratios: number[]) => region(n, preference, ratios, (p) => blockSync.has(p));
    for (let k = deviceCount; k >= 2; k--) {
      const ratios = balancedRatios(space, 0, n, kFastest(k))!;
      const kept = offloadHome(ctx, structure.blockOf, gatheringOps(simulator, repairDecisions(ctx, blockSynced(ratios))));
      for (const share of HOME_FRACTIONS) {
        const shifted = withHomeShare(ratios, home, share);
        if (shifted === null) continue;
        const plan = blockSynced(shifted).map((d, p) => (kept[p] ? { op: d.op, placement: { device: home }, sync: true } : d));
        const e = tryPlan(plan);
        if (e === undefined) return tried;
        tried.push(e);
      }
    }
    return tried;
  };

  // The network's head gets its own home share: it runs once the layers are done, with other loads than theirs.
  const head = headStart(structure);
  const sweepHead = (offloaded: readonly Evaluated[]) => {
    if (head === 0 || head >= n) return;
    const best = (plans: readonly Evaluated[]) => [...plans].sort((a, b) => a.fitness - b.fitness);
    const bases = new Set([...best(out).slice(0, HEAD_BASES), ...best(offloaded).slice(0, 1)]);
    for (const base of bases) {
      for (const share of HEAD_FRACTIONS) {
        let changed = false;
        const plan = base.decisions.map((d, p) => {
          if (p < head || !isStripe(d.placement)) return d;
          const ratios = withHomeShare(placementShares(d.placement, deviceCount), home, share);
          if (ratios === null) return d;
          changed = true;
          return { ...d, placement: { dim: d.placement.dim, ratios } };
        });
        if (changed && tryPlan(plan) === undefined) return;
      }
    }
  };

  familyPatterns();
  layerParallel();
  // Offload before the descent: few plans, and the best seeds of transformers on many devices, which a budget
  // spent in the descent's many plans would never reach.
  const offloaded = offload();
  const descended = policyDescent();
  sweepHome([...descended, ...prefixes()]);
  sweepHead(offloaded);
  return out;
}

/** The sub-tile counts tiled seeds try. */
export const SEED_TILES = [2, 4, 8, 16];

/**
 * Tiled seeds (docs/geneflow.md, "Tiles"): when none of `evaluated` (the seeds simulated so far) fits every device,
 * the best `count` of them (lowest fitness: smallest overflow) with `tiles: k` on every stretch that may take it,
 * for each k of SEED_TILES, in that order, until one fits; those simulated are returned (none when some seed fits or
 * no seed has a stretch to tile).
 */
export function tiledSeeds(ctx: PartitionContext, evaluated: readonly Evaluated[], evaluate: SeedEvaluate, count = 3): Evaluated[] {
  if (evaluated.length === 0 || evaluated.some((e) => e.result.feasible)) return [];
  const out: Evaluated[] = [];
  const bases = [...evaluated].sort((a, b) => a.fitness - b.fitness).slice(0, count);
  for (const k of SEED_TILES) {
    for (const base of bases) {
      if (tileableSinks(ctx, base.decisions).length === 0) continue;
      const e = evaluate(withTiles(ctx, base.decisions, k));
      if (e === undefined) return out;
      out.push(e);
    }
    if (out.some((e) => e.result.feasible)) break;
  }
  return out;
}

/**
 * Grid seeds (docs/geneflow.md, "Grids"): the best `count` of `evaluated` (lowest fitness) with every rows split of an
 * operator that takes a grid turned into a grid over the same devices (`sharesToGrid`), once per shape of
 * `gridShapes` (up to two: 2×2 and 1×4 for four devices), fused stretches kept where the whole stretch takes it
 * (repair synchronises the rest); those simulated are returned (none for models without grids).
 */
export function gridSeeds(
  ctx: PartitionContext,
  deviceCount: number,
  evaluated: readonly Evaluated[],
  evaluate: SeedEvaluate,
  count = 3,
): Evaluated[] {
  if (!ctx.space.some((s) => s.grid !== null)) return [];
  const out: Evaluated[] = [];
  const bases = [...evaluated].sort((a, b) => a.fitness - b.fitness).slice(0, count);
  for (let shape = 0; shape < 2; shape++) {
    for (const base of bases) {
      let changed = false;
      const decisions = base.decisions.map((d, p) => {
        const placement = d.placement;
        if (!isStripe(placement) || placement.dim !== 'rows' || ctx.space[p]!.grid === null) return d;
        const shares = placementShares(placement, deviceCount);
        const shapes = gridShapes(shares.filter((s) => s > 0).length);
        const grid = shape < shapes.length ? sharesToGrid(shares, shapes[shape]!) : null;
        if (grid === null) return d;
        changed = true;
        return { ...d, placement: grid };
      });
      if (!changed) continue;
      const e = evaluate(decisions);
      if (e === undefined) return out;
      out.push(e);
    }
  }
  return out;
}
