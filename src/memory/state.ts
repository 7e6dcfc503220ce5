import { fail } from '../errors.ts';
import type { MemoryGraph } from './graph.ts';

/**
 * Static facts the memory model derives from a MemoryGraph (docs/memory.md): which tensors share a buffer
 * (alias chains), how many operators read each buffer, which buffers are pinned to the end, and per
 * operator the buffers it reads and creates. Buffers are identified by their root tensor's id.
 */
export class MemoryIndex {
  readonly opCount: number;
  /** Tensor id → id of the root tensor whose buffer it lives in. */
  readonly bufferOf: Int32Array;
  /** Root tensor id → bytes of the buffer. */
  readonly bufferBytes: Float64Array;
  /** Root tensor id → number of distinct operators reading any tensor of the buffer. */
  readonly bufferUses: Int32Array;
  /** Root tensor id → 1 when the buffer lives to the end (holds a graph output, or an unread graph input). */
  readonly pinned: Uint8Array;
  /** Per op: distinct buffers it reads. */
  readonly inputBuffers: number[][];
  /** Per op: outputs that get a buffer of their own (all outputs but a view). */
  readonly freshOutputs: number[][];
  /** Per op: bytes of output 0 when the op may write it in place (behaviour 'elementwise' and inplace on), else -1. */
  readonly inplaceBytes: Float64Array;
  /** Per op: distinct operators reading its outputs. */
  readonly successors: number[][];
  /** Per op: number of distinct operators producing its inputs. */
  readonly predecessorCount: Int32Array;
  /** Tensor id → producing op, or -1 for graph inputs. */
  readonly producer: Int32Array;
  /** Live bytes before any operator runs: the graph inputs. */
  readonly initialResident: number;

  constructor(
    readonly graph: MemoryGraph,
    readonly inplace = true,
  ) {
    const tensorCount = graph.tensorNames.length;
    const n = graph.ops.length;
    this.opCount = n;
    this.producer = new Int32Array(tensorCount).fill(-2);
    for (const t of graph.graphInputs) this.producer[t] = -1;
    graph.ops.forEach((op, i) => {
      for (const t of op.outputs) {
        if (this.producer[t] !== -2)
          fail(`tensor '${graph.tensorNames[t]}' has two producers (second: operator '${op.name}')`, 'invalid-model');
        this.producer[t] = i;
      }
    });
    this.bufferOf = new Int32Array(tensorCount);
    // A view (output 0 of an 'alias' op of equal size) joins its source's buffer, transitively.
    const viewSource = new Int32Array(tensorCount).fill(-1);
    for (const op of graph.ops) {
      const source = op.inputs[0];
      const view = op.outputs[0];
      if (op.behaviour === 'alias' && source !== undefined && view !== undefined && graph.tensorBytes[source] === graph.tensorBytes[view]) {
        viewSource[view] = source;
      }
    }
    for (let t = 0; t < tensorCount; t++) {
      let root = t;
      for (let steps = 0; viewSource[root] !== -1; steps++) {
        if (steps > tensorCount) fail('the graph has a cycle of view (alias) operators', 'cyclic-graph');
        root = viewSource[root]!;
      }
      this.bufferOf[t] = root;
    }

    this.bufferBytes = new Float64Array(tensorCount);
    for (let t = 0; t < tensorCount; t++) if (this.bufferOf[t] === t) this.bufferBytes[t] = graph.tensorBytes[t]!;
    this.bufferUses = new Int32Array(tensorCount);
    this.pinned = new Uint8Array(tensorCount);
    this.inputBuffers = [];
    this.freshOutputs = [];
    this.inplaceBytes = new Float64Array(n).fill(-1);
    this.predecessorCount = new Int32Array(n);
    // Distinct buffers, predecessors and successors in first-seen order, without a Set per operator (the
    // simulator builds an index per device per plan). lastReader[p] = the last op that counted p as predecessor.
    const succ: number[][] = Array.from({ length: n }, () => []);
    const lastReader = new Int32Array(n).fill(-1);
    for (let i = 0; i < n; i++) {
      const op = graph.ops[i]!;
      const buffers: number[] = [];
      let preds = 0;
      for (const t of op.inputs) {
        const p = this.producer[t]!;
        if (p === -2) fail(`operator '${op.name}' reads tensor '${graph.tensorNames[t]}', which nothing produces`, 'invalid-model');
        if (p === i) fail(`operator '${op.name}' reads its own output '${graph.tensorNames[t]}': the graph has a cycle`, 'cyclic-graph');
        if (p >= 0 && lastReader[p] !== i) {
          lastReader[p] = i;
          preds++;
          succ[p]!.push(i);
        }
        const b = this.bufferOf[t]!;
        if (!buffers.includes(b)) buffers.push(b);
      }
      for (const b of buffers) this.bufferUses[b]!++;
      this.inputBuffers.push(buffers);
      this.predecessorCount[i] = preds;
      const fresh: number[] = [];
      for (const t of op.outputs) if (this.bufferOf[t] === t) fresh.push(t);
      this.freshOutputs.push(fresh);
      const out0 = op.outputs[0];
      if (inplace && op.behaviour === 'elementwise' && out0 !== undefined) this.inplaceBytes[i] = graph.tensorBytes[out0]!;
    }
    this.successors = succ;
    for (const t of graph.graphOutputs) this.pinned[this.bufferOf[t]!] = 1;
    for (const t of graph.graphInputs) if (this.bufferUses[t] === 0) this.pinned[t] = 1;
    let initial = 0;
    for (const t of graph.graphInputs) if (this.bufferOf[t] === t) initial += this.bufferBytes[t]!;
    this.initialResident = initial;
  }
}

/**
 * The live state after some set of operators has run: remaining readers per buffer and the resident bytes.
 * `apply` runs one ready operator and `undo` takes the last one back, so a search can walk a tree of orders.
 * Resident bytes depend only on the set of operators run, never on their order (docs/memory.md).
 */
export class MemoryState {
  readonly remaining: Int32Array;
  readonly waitingFor: Int32Array;
  readonly done: Uint8Array;
  resident: number;

  constructor(readonly index: MemoryIndex) {
    this.remaining = index.bufferUses.slice();
    this.waitingFor = index.predecessorCount.slice();
    this.done = new Uint8Array(index.opCount);
    this.resident = index.initialResident;
  }

  isReady(op: number): boolean {
    return this.done[op] === 0 && this.waitingFor[op] === 0;
  }

  /** True when `buffer` is freed once `op` (one of its readers) has run in the current state. */
  private diesAt(buffer: number): boolean {
    return this.remaining[buffer] === 1 && this.index.pinned[buffer] === 0;
  }

  /** The input buffer `op` writes its output 0 into, in place, in the current state; -1 when none. */
  inplaceSource(op: number): number {
    const { index } = this;
    const inplace = index.inplaceBytes[op]!;
    if (inplace < 0) return -1;
    for (const b of index.inputBuffers[op]!) if (this.diesAt(b) && index.bufferBytes[b] === inplace) return b;
    return -1;
  }

  /** Bytes newly allocated while `op` runs: its fresh outputs, less output 0 when written in place. */
  allocatedBy(op: number): number {
    const { index } = this;
    let bytes = 0;
    for (const t of index.freshOutputs[op]!) bytes += index.bufferBytes[t]!;
    return this.inplaceSource(op) >= 0 ? bytes - index.inplaceBytes[op]! : bytes;
  }

  /** Live bytes while `op` runs: everything resident plus what it allocates. */
  stepBytes(op: number): number {
    return this.resident + this.allocatedBy(op);
  }

  /** Change of resident bytes when `op` runs: outputs that stay live minus input buffers that die here. */
  residentDelta(op: number): number {
    const { index } = this;
    let delta = 0;
    for (const t of index.freshOutputs[op]!) if (index.bufferUses[t]! > 0 || index.pinned[t] === 1) delta += index.bufferBytes[t]!;
    for (const b of index.inputBuffers[op]!) if (this.diesAt(b)) delta -= index.bufferBytes[b]!;
    return delta;
  }

  /** Runs a ready operator; returns the live bytes while it ran. */
  apply(op: number): number {
    const step = this.stepBytes(op);
    this.resident += this.residentDelta(op);
    const { index } = this;
    for (const b of index.inputBuffers[op]!) this.remaining[b]!--;
    for (const s of index.successors[op]!) this.waitingFor[s]!--;
    this.done[op] = 1;
    return step;
  }

  /** Takes back `op`, which must be the last operator applied. */
  undo(op: number): void {
    const { index } = this;
    this.done[op] = 0;
    for (const s of index.successors[op]!) this.waitingFor[s]!++;
    for (const b of index.inputBuffers[op]!) this.remaining[b]!++;
    this.resident -= this.residentDelta(op);
  }
}
