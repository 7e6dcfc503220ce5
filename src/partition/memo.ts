/**
 * A bounded memo that keeps what is in use: entries go into a young generation; when it is full it becomes the old
 * generation (the previous old one is dropped), and an old entry found again moves back to the young one. A search's
 * current plans keep hitting their entries, so they stay, while one-off entries (most rows of a random plan) are
 * dropped soon: every entry a memo holds survives into the old heap, and that copying was a large part of a plan
 * evaluation's garbage collection.
 */
export class RecentMemo<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();

  /** Holds at most 2 × `limit` entries. */
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

  set(key: K, value: V): void {
    if (this.young.size >= this.limit) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, value);
  }
}
