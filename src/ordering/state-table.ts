/** One remembered state: its bitset of operators run and the largest budget it was proven infeasible under. */
interface Entry {
  bits: Uint16Array;
  budget: number;
  next: Entry | undefined;
}

/**
 * The table of search states proven infeasible (docs/ordering.md, state hashing). Keyed by a 53-bit Zobrist
 * hash of the set of operators run; entries keep the exact bitset, so a hash collision is never mistaken for
 * the same state.
 */
export class FailedStates {
  size = 0;
  private readonly table = new Map<number, Entry>();

  /** The budget `bits` was proven infeasible under, or -1. */
  get(hash: number, bits: Uint16Array): number {
    for (let e = this.table.get(hash); e !== undefined; e = e.next) if (sameBits(e.bits, bits)) return e.budget;
    return -1;
  }

  set(hash: number, bits: Uint16Array, budget: number): void {
    const head = this.table.get(hash);
    for (let e = head; e !== undefined; e = e.next) {
      if (sameBits(e.bits, bits)) {
        e.budget = Math.max(e.budget, budget);
        return;
      }
    }
    this.table.set(hash, { bits: bits.slice(), budget, next: head });
    this.size++;
  }

  clear(): void {
    this.table.clear();
    this.size = 0;
  }
}

function sameBits(a: Uint16Array, b: Uint16Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
