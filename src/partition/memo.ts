/**
 * A bounded memo that keeps what is used again. A new entry goes into a small nursery, unless the caller expects it
 * to be used again; found there again, it moves to the kept entries. Both are two generations: when the young one is
 * full it becomes the old one (the previous old one is dropped), and an old entry found again moves back to the
 * young one. A search's current plans keep hitting their entries, so those stay, while one-off entries (most rows
 * of a random plan) leave the nursery before the garbage collector copies them to the old heap: every entry a memo
 * holds for long is copied there, and that copying was a large part of a plan evaluation's cost.
 */
export class RecentMemo<K, V> {
  private readonly nursery: Generations<K, V>;
  private readonly kept: Generations<K, V>;

  /** Holds at most 2 × (nursery + kept) entries. */
  constructor(nursery: number, kept: number) {
    this.nursery = new Generations(nursery);
    this.kept = new Generations(kept);
  }

  get(key: K): V | undefined {
    const value = this.kept.get(key);
    if (value !== undefined) return value;
    const fresh = this.nursery.take(key);
    if (fresh !== undefined) this.kept.set(key, fresh);
    return fresh;
  }

  /** Adds an entry, to the kept ones when `likelyReused`. */
  set(key: K, value: V, likelyReused: boolean): void {
    (likelyReused ? this.kept : this.nursery).set(key, value);
  }
}

class Generations<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();

  constructor(private readonly limit: number) {}

  get(key: K): V | undefined {
    const value = this.young.get(key);
    if (value !== undefined) return value;
    const older = this.old.get(key);
    if (older !== undefined) {
      this.old.delete(key);
      this.set(key, older);
    }
    return older;
  }

  /** Removes and returns the entry of `key`. */
  take(key: K): V | undefined {
    const value = this.young.get(key);
    if (value !== undefined) {
      this.young.delete(key);
      return value;
    }
    const older = this.old.get(key);
    if (older !== undefined) this.old.delete(key);
    return older;
  }

  set(key: K, value: V): void {
    if (this.young.size >= this.limit) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, value);
  }
}
