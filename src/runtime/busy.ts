/**
 * The time at least one of a set of overlapping activities is under way (the union of their intervals). A worker's
 * concurrent uploads queue behind each other in one socket, so a sum of their durations would count the queueing
 * once per upload waiting; the union is the time the socket was busy, as the simulator's link occupancy is.
 */
export class BusyClock {
  private active = 0;
  private since = 0;
  private total = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Marks one activity started; returns the function that marks it ended (call it once). */
  begin(): () => void {
    if (this.active++ === 0) this.since = this.now();
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      if (--this.active === 0) this.total += this.now() - this.since;
    };
  }

  /** The busy time so far, including a running stretch. */
  get ms(): number {
    return this.active > 0 ? this.total + this.now() - this.since : this.total;
  }
}
