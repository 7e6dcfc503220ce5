import type { MemoryBehaviour } from '../ir/graph.ts';

const BEHAVIOUR: Record<MemoryBehaviour, number> = { normal: 0, elementwise: 1, alias: 2 };
const ELEMENTWISE = 1;
const ALIAS = 2;

/**
 * The memory model (docs/memory.md) of a graph run in the order its operators are added, with no graph inputs or
 * outputs and in-place writes on: the peak `evaluateOrder` returns for the same MemoryGraph and the identity order
 * (sequence.test.ts checks both on seeded random graphs). Built in flat typed arrays that are reused from one graph
 * to the next, because the simulator runs it per device per plan and a MemoryGraph plus its MemoryIndex per run
 * were a fifth of a plan evaluation, most of it garbage collection.
 *
 * Use: `reset()`, then per operator `op(behaviour)`, its distinct `input`s (tensors made earlier, in the node's
 * input order) and its `output`s (fresh tensors from `tensor(bytes)`); then `peakBytes()`.
 */
export class SequenceMemory {
  private tensorBytes = new Float64Array(64);
  /** Tensor → the root tensor whose buffer it lives in (a view of equal size joins its source's buffer). */
  private bufferOf = new Int32Array(64);
  /** Root tensor → distinct operators reading the buffer. */
  private uses = new Int32Array(64);
  private remaining = new Int32Array(64);
  private tensorCount = 0;
  private behaviour = new Uint8Array(64);
  private firstInput = new Int32Array(64);
  /** Operator k's distinct input buffers are inputs[inputStart[k] .. inputStart[k + 1]), its outputs likewise. */
  private inputStart = new Int32Array(65);
  private outputStart = new Int32Array(65);
  private opCount = 0;
  private inputs = new Int32Array(64);
  private inputCount = 0;
  private outputs = new Int32Array(64);
  private outputCount = 0;

  reset(): void {
    this.tensorCount = 0;
    this.opCount = 0;
    this.inputCount = 0;
    this.outputCount = 0;
  }

  /** Tensors made since the last reset (the next tensor's number). */
  get tensorsMade(): number {
    return this.tensorCount;
  }

  tensor(bytes: number): number {
    const t = this.tensorCount++;
    if (t === this.tensorBytes.length) {
      this.tensorBytes = grow(this.tensorBytes);
      this.bufferOf = grow(this.bufferOf);
      this.uses = grow(this.uses);
      this.remaining = grow(this.remaining);
    }
    this.tensorBytes[t] = bytes;
    this.bufferOf[t] = t;
    this.uses[t] = 0;
    return t;
  }

  op(behaviour: MemoryBehaviour): void {
    const k = this.opCount++;
    if (k === this.behaviour.length) {
      this.behaviour = grow(this.behaviour);
      this.firstInput = grow(this.firstInput);
      this.inputStart = grow(this.inputStart);
      this.outputStart = grow(this.outputStart);
    }
    this.behaviour[k] = BEHAVIOUR[behaviour];
    this.firstInput[k] = -1;
    this.inputStart[k] = this.inputCount;
    this.outputStart[k] = this.outputCount;
    this.inputStart[k + 1] = this.inputCount;
    this.outputStart[k + 1] = this.outputCount;
  }

  input(tensor: number): void {
    const k = this.opCount - 1;
    if (this.firstInput[k] === -1) this.firstInput[k] = tensor;
    const buffer = this.bufferOf[tensor]!;
    for (let i = this.inputStart[k]!; i < this.inputCount; i++) if (this.inputs[i] === buffer) return;
    if (this.inputCount === this.inputs.length) this.inputs = grow(this.inputs);
    this.inputs[this.inputCount++] = buffer;
    this.inputStart[k + 1] = this.inputCount;
    this.uses[buffer]!++;
  }

  output(tensor: number): void {
    const k = this.opCount - 1;
    const source = this.firstInput[k]!;
    if (
      this.outputCount === this.outputStart[k] &&
      this.behaviour[k] === ALIAS &&
      source >= 0 &&
      this.tensorBytes[source] === this.tensorBytes[tensor]
    )
      this.bufferOf[tensor] = this.bufferOf[source]!;
    if (this.outputCount === this.outputs.length) this.outputs = grow(this.outputs);
    this.outputs[this.outputCount++] = tensor;
    this.outputStart[k + 1] = this.outputCount;
  }

  /** Max over the operators of the live bytes while each runs (0 for no operators). */
  peakBytes(): number {
    const { tensorBytes, bufferOf, uses, remaining, inputs, outputs, inputStart, outputStart, behaviour } = this;
    remaining.set(uses.subarray(0, this.tensorCount));
    let resident = 0;
    let peak = 0;
    for (let k = 0; k < this.opCount; k++) {
      const in0 = inputStart[k]!;
      const in1 = inputStart[k + 1]!;
      const out0 = outputStart[k]!;
      const out1 = outputStart[k + 1]!;
      let allocated = 0;
      let delta = 0;
      for (let i = out0; i < out1; i++) {
        const t = outputs[i]!;
        if (bufferOf[t] !== t) continue;
        allocated += tensorBytes[t]!;
        if (uses[t]! > 0) delta += tensorBytes[t]!;
      }
      if (behaviour[k] === ELEMENTWISE && out1 > out0) {
        const inplace = tensorBytes[outputs[out0]!]!;
        for (let i = in0; i < in1; i++) {
          const b = inputs[i]!;
          if (remaining[b] === 1 && tensorBytes[b] === inplace) {
            allocated -= inplace;
            break;
          }
        }
      }
      const step = resident + allocated;
      if (step > peak) peak = step;
      for (let i = in0; i < in1; i++) {
        const b = inputs[i]!;
        if (remaining[b] === 1) delta -= tensorBytes[b]!;
        remaining[b]!--;
      }
      resident += delta;
    }
    return peak;
  }
}

function grow<T extends Float64Array | Int32Array | Uint8Array>(array: T): T {
  const bigger = new (array.constructor as new (n: number) => T)(array.length * 2 + 1);
  bigger.set(array);
  return bigger;
}
