/**
 * Calls served `servers` at a time, first come first served: one thread that runs in-process sessions
 * one after another (onnxruntime #19611), or a worker pool's queue in front of its workers. A call's
 * latency there is its wait in the lane plus its own run; the lane tells them apart, so that a backend
 * is judged by what its runs cost and not by how many requests happened to queue in front of it (the
 * chosen backend's own queue would otherwise make any other look faster than it is).
 *
 * A call begins service when the call `servers` places ahead of it ends (or at once, if that one had
 * ended when it came): its own time is from then to its end.
 */
export class RunLane {
  private next = 0;
  /** End times of calls that have ended, by ticket, until the call `servers` places behind reads them. */
  private readonly ends = new Map<number, number>();

  constructor(readonly servers: number) {}

  /** A call enters the lane; returns its ticket. */
  begin(): number {
    return this.next++;
  }

  /** The call with `ticket`, begun at `start`, ended at `end`: its own time, without its wait in the lane. */
  end(ticket: number, start: number, end: number): number {
    this.ends.set(ticket, end);
    const ahead = ticket - this.servers;
    const freed = this.ends.get(ahead);
    this.ends.delete(ahead);
    // A call that ended after the one behind it (out of order) is never read: forget the oldest.
    if (this.ends.size > 4 * this.servers + 256) {
      for (const k of this.ends.keys()) if (k < ticket - 256) this.ends.delete(k);
    }
    return end - Math.max(start, freed ?? start);
  }
}
