import type { PartitionContext } from '../partition/context.ts';
import type { OpDecision } from '../partition/types.ts';
import { adaptPlacement } from './encoding.ts';

/**
 * A repeated block of the network: the operators of the order in [start, end) (less the side operators among them),
 * `canonical` lists them in a canonical order, so the i-th operator of two blocks of one family play the same role.
 */
export interface Block {
  start: number;
  end: number;
  canonical: number[];
  family: number;
  stage: number;
  /** Shape of the one tensor that leaves the block (the main path at its end cut). */
  outputShape: number[];
}

/** Isomorphic blocks: equal structural signatures (operator types and wiring; shapes and attributes ignored). */
export interface Family {
  signature: string;
  blocks: number[];
}

/** A run of consecutive blocks whose outputs have the same shape (a ResNet stage, a stack of transformer layers). */
export interface Stage {
  blocks: number[];
  start: number;
  end: number;
}

/**
 * What `detectStructure` sees in a (model, order) (docs/geneflow.md, "Structure"): single-tensor cut points of the
 * order, the units between them grouped into repeated blocks, families of isomorphic blocks and stages.
 */
export interface Structure {
  /** Boundaries b (1 ≤ b < n: between positions b − 1 and b) that exactly one main-path tensor crosses. */
  cuts: number[];
  /** Operators off the main path: producers of tensors that feed many far-apart layers (a mask, rotary tables). */
  side: boolean[];
  blocks: Block[];
  families: Family[];
  stages: Stage[];
  /** Per position: its block's index, or -1. */
  blockOf: number[];
}

/**
 * Finds the structure of the network from its graph alone (no names):
 * 1. side tensors: read by at least 3 operators over more than a third of the order (an attention mask, rotary
 *    tables); side operators: those whose outputs are all side tensors or read only by side operators;
 * 2. cuts: boundaries of the order that exactly one main-path tensor crosses (articulation points of the DAG in the
 *    order); the segments between consecutive cuts are atoms (a bottleneck, an attention or MLP sublayer, one
 *    layer of a plain chain);
 * 3. atoms get a structural signature (a Merkle hash over each operator's type and the signatures of its inputs,
 *    the atom's input, weights and side tensors as leaves; the sorted multiset of those); then, repeatedly, two
 *    adjacent kinds of unit X, Y merge into one unit when every X is followed by a Y that is a single operator
 *    keeping its input's shape (the Relu after a bottleneck's Add, BERT's LayerNorm after a residual Add), or when
 *    they come together up to one exception (every X is followed by a Y and at most one Y is not preceded by an
 *    X, or the other way round): a transformer layer (attention + MLP sublayer) becomes one unit, a convolution
 *    with its normalisation and activation another;
 * 4. families: units with equal signatures, at least two of them, each with at least two operators or with weights
 *    (a layer); their units are the blocks; stages: runs of adjacent blocks whose outputs have the same shape.
 */
export function detectStructure(ctx: PartitionContext): Structure {
  const n = ctx.order.length;
  const side = sideOperators(ctx);
  const { cuts, crossing } = cutPoints(ctx, side);
  const bounds = [0, ...cuts, n];
  const atoms: Array<{ start: number; end: number; hash: Map<number, string>; signature: string }> = [];
  // A segment of side operators only is no atom: it joins the next one.
  for (let a = 0, from = 0; a + 1 < bounds.length; a++) {
    const atom = hashed(ctx, side, from, bounds[a + 1]!);
    if (atom.hash.size === 0 && a + 2 < bounds.length) continue;
    atoms.push(atom);
    from = bounds[a + 1]!;
  }

  // Units start as atoms. Repeatedly, two adjacent kinds of unit X, Y merge into one: when every X is followed by a Y
  // that is one operator keeping its input's shape (an activation or normalisation after a residual Add), or when
  // they come together up to one exception (every X followed by a Y and at most one Y not preceded by an X, or the
  // other way round). A transformer's attention and MLP sublayers become one layer, a Conv its Conv-BN-activation.
  let units = atoms.map((atom, a) => ({ start: atom.start, end: atom.end, atoms: [a] }));
  const shapeKeeping = (u: (typeof units)[number]) => {
    if (u.atoms.length !== 1 || atoms[u.atoms[0]!]!.hash.size !== 1 || u.start === 0) return false;
    return sameShape(crossing[u.start] ?? [], ctx.geometry[u.start]!.outputShapes[0] ?? []);
  };
  for (;;) {
    const signatures = units.map((u) => u.atoms.map((a) => atoms[a]!.signature).join('|'));
    const counts = new Map<string, number>();
    for (const key of signatures) counts.set(key, (counts.get(key) ?? 0) + 1);
    const pairs = new Map<string, { count: number; absorbs: boolean }>();
    for (let i = 0; i + 1 < units.length; i++) {
      if (signatures[i] === signatures[i + 1]) continue;
      const key = `${signatures[i]}\n${signatures[i + 1]}`;
      const seen = pairs.get(key) ?? { count: 0, absorbs: shapeKeeping(units[i + 1]!) };
      seen.count++;
      pairs.set(key, seen);
    }
    let chosen: string | undefined;
    for (const pass of [true, false]) {
      for (const [key, { count, absorbs }] of pairs) {
        const [x, y] = key.split('\n') as [string, string];
        const [cx, cy] = [counts.get(x)!, counts.get(y)!];
        const together = count >= 2 && ((count === cx && count >= cy - 1) || (count === cy && count >= cx - 1));
        if (pass ? absorbs && count === cx : together) {
          chosen = key;
          break;
        }
      }
      if (chosen !== undefined) break;
    }
    if (chosen === undefined) break;
    const next: typeof units = [];
    for (let i = 0; i < units.length; i++) {
      if (i + 1 < units.length && `${signatures[i]}\n${signatures[i + 1]}` === chosen) {
        next.push({ start: units[i]!.start, end: units[i + 1]!.end, atoms: [...units[i]!.atoms, ...units[i + 1]!.atoms] });
        i++;
      } else next.push(units[i]!);
    }
    units = next;
  }

  const unitSignature = (u: (typeof units)[number]) => u.atoms.map((a) => atoms[a]!.signature).join('|');
  const bySignature = new Map<string, number[]>();
  units.forEach((u, i) => {
    if (!(u.atoms.reduce((s, a) => s + atoms[a]!.hash.size, 0) >= 2 || hasWeights(ctx, u.start, u.end))) return;
    const key = unitSignature(u);
    bySignature.set(key, [...(bySignature.get(key) ?? []), i]);
  });
  const repeated = new Map<number, number>();
  const families: Family[] = [];
  for (const [signature, members] of bySignature) {
    if (members.length < 2) continue;
    families.push({ signature, blocks: [] });
    for (const u of members) repeated.set(u, families.length - 1);
  }

  const blocks: Block[] = [];
  const blockOf = new Array<number>(n).fill(-1);
  const stages: Stage[] = [];
  let previousUnit = -2;
  units.forEach((u, i) => {
    const family = repeated.get(i);
    if (family === undefined) return;
    const canonical: number[] = [];
    const keys = new Map<number, string>();
    u.atoms.forEach((a, k) => atoms[a]!.hash.forEach((h, p) => (keys.set(p, `${k}:${h}`), canonical.push(p))));
    canonical.sort((x, y) => (keys.get(x)! < keys.get(y)! ? -1 : keys.get(x)! > keys.get(y)! ? 1 : x - y));
    const outputShape = u.end < n ? crossing[u.end]! : (ctx.geometry[u.end - 1]!.outputShapes[0] ?? []);
    const index = blocks.length;
    const last = stages[stages.length - 1];
    const sameStage = last !== undefined && previousUnit === i - 1 && sameShape(blocks[index - 1]!.outputShape, outputShape);
    if (sameStage) {
      last.blocks.push(index);
      last.end = u.end;
    } else stages.push({ blocks: [index], start: u.start, end: u.end });
    blocks.push({ start: u.start, end: u.end, canonical, family, stage: stages.length - 1, outputShape });
    families[family]!.blocks.push(index);
    for (const p of canonical) blockOf[p] = index;
    previousUnit = i;
  });
  return { cuts, side, blocks, families, stages, blockOf };
}

function hasWeights(ctx: PartitionContext, start: number, end: number): boolean {
  for (let p = start; p < end; p++)
    if (ctx.model.ops[ctx.opIndex[p]!]!.node.inputs.some((t) => ctx.model.tensors.get(t)?.kind === 'weight')) return true;
  return false;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Distinct reader positions and the last one, of each output of each position. */
function readers(ctx: PartitionContext, position: number, output: number): number[] {
  return [...new Set(ctx.consumers[position]![output]!.map((u) => u.position))];
}

function sideOperators(ctx: PartitionContext): boolean[] {
  const n = ctx.order.length;
  const side = new Array<boolean>(n).fill(false);
  const farReaching = (producer: number, positions: readonly number[]) =>
    positions.length >= 3 && Math.max(...positions) - producer > n / 3;
  for (let p = n - 1; p >= 0; p--) {
    const outputs = ctx.consumers[p]!;
    side[p] =
      outputs.length > 0 &&
      outputs.every((_, k) => {
        if (ctx.isGraphOutput[p]![k]) return false;
        const positions = readers(ctx, p, k);
        return positions.length > 0 && (farReaching(p, positions) || positions.every((q) => side[q]));
      });
  }
  return side;
}

/**
 * Boundaries crossed by exactly one main-path tensor (graph inputs count from boundary 0; side tensors and graph
 * inputs read only by side operators do not count), and the shape of that tensor at each such boundary.
 */
function cutPoints(ctx: PartitionContext, side: readonly boolean[]): { cuts: number[]; crossing: Array<number[] | undefined> } {
  const n = ctx.order.length;
  const count = new Array<number>(n + 1).fill(0);
  const id = new Array<number>(n + 1).fill(0);
  const shapes: number[][] = [];
  const live = (from: number, to: number, shape: number[]) => {
    // Live at boundaries from..to inclusive.
    if (to < from) return;
    shapes.push(shape);
    count[from]! += 1;
    count[to + 1]! -= 1;
    id[from]! += shapes.length;
    id[to + 1]! -= shapes.length;
  };
  for (let p = 0; p < n; p++) {
    if (side[p]) continue;
    ctx.consumers[p]!.forEach((uses, k) => {
      const positions = uses.map((u) => u.position).filter((q) => !side[q]);
      if (positions.length === 0) return;
      live(p + 1, Math.max(...positions), ctx.geometry[p]!.outputShapes[k] ?? []);
    });
  }
  for (const [tensor, uses] of ctx.graphInputUses) {
    const positions = uses.map((u) => u.position).filter((q) => !side[q]);
    if (positions.length > 0) live(0, Math.max(...positions), [...(ctx.model.tensors.get(tensor)?.shape ?? [])] as number[]);
  }
  const cuts: number[] = [];
  const crossing: Array<number[] | undefined> = new Array(n + 1);
  let c = 0;
  let s = 0;
  for (let b = 0; b <= n; b++) {
    c += count[b]!;
    s += id[b]!;
    if (b >= 1 && b < n && c === 1) {
      cuts.push(b);
      crossing[b] = shapes[s - 1];
    }
  }
  return { cuts, crossing };
}

/**
 * Structural hashes of the main-path operators of [start, end): each operator's type and output count with the
 * hashes of its inputs (producers inside the segment; `in` for the segment's input and graph inputs, `w` for weights,
 * `s` for side tensors); the signature is the sorted list.
 */
function hashed(ctx: PartitionContext, side: readonly boolean[], start: number, end: number) {
  const hash = new Map<number, string>();
  for (let p = start; p < end; p++) {
    if (side[p]) continue;
    const node = ctx.model.ops[ctx.opIndex[p]!]!.node;
    const inputs = node.inputs.map((tensor, j) => {
      if (tensor === '') return '-';
      const source = ctx.producers[p]![j];
      if (source === null || source === undefined) return ctx.model.tensors.get(tensor)?.kind === 'weight' ? 'w' : 'in';
      if (side[source.position]) return 's';
      if (source.position < start) return 'in';
      return `${hash.get(source.position)}.${source.output}`;
    });
    hash.set(p, digest(`${node.opType}/${node.outputs.length}(${inputs.join(',')})`));
  }
  return { start, end, hash, signature: [...hash.values()].sort().join(' ') };
}

/** A short stable digest of a string (FNV-1a, 2 × 32 bits). */
function digest(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 15);
  }
  return (a >>> 0).toString(36) + (b >>> 0).toString(36);
}

/**
 * `chromosome` with the decisions of block `from` copied onto each block of `to` (operators matched by their place
 * in the blocks' canonical order; a placement an operator cannot take is adapted to it). Blocks of one family.
 */
export function applyPattern(
  ctx: PartitionContext,
  structure: Structure,
  chromosome: readonly OpDecision[],
  from: number,
  to: readonly number[],
) {
  const child = [...chromosome];
  const source = structure.blocks[from]!.canonical;
  for (const b of to) {
    if (b === from) continue;
    const target = structure.blocks[b]!.canonical;
    if (target.length !== source.length) continue;
    target.forEach((p, i) => {
      const d = chromosome[source[i]!]!;
      child[p] = { op: ctx.order[p]!, placement: adaptPlacement(ctx, p, d.placement), sync: d.sync };
    });
  }
  return child;
}

/** Boundaries of the structure, sorted: every cut, block start and end, and the model's end. */
export function boundariesOf(structure: Structure, n: number): number[] {
  const set = new Set<number>([...structure.cuts, n]);
  for (const b of structure.blocks) set.add(b.start).add(b.end);
  set.delete(0);
  return [...set].sort((a, b) => a - b);
}
