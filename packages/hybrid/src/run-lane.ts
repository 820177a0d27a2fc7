/**
 * Calls served `servers` at a time, first come first served: one thread that runs in-process sessions
 * one after another (onnxruntime #19611), or a worker pool's queue in front of its workers. A call's
 * latency there is its wait in the lane plus its own run; the lane tells them apart, so that a backend
 * is judged by what its runs cost and not by how many requests happened to queue in front of it (the
 * chosen backend's own queue would otherwise make any other look faster than it is).
 *
 * A call begins service when a call `servers` or more places ahead of it ends (or at once, if such a
 * call had ended when it came): its own time is from the latest such end to its own end. The latest,
 * not the one exactly `servers` places ahead: a call refused at once (bad input) or dropped from the
 * queue (aborted) ends before the calls ahead of it, and never held a server.
 */
export class RunLane {
  private next = 0;
  /** End times of recent calls that have ended, by ticket. */
  private readonly ends = new Map<number, number>();

  constructor(readonly servers: number) {}

  /** A call enters the lane; returns its ticket. */
  begin(): number {
    return this.next++;
  }

  /** The call with `ticket`, begun at `start`, ended at `end`: its own time, without its wait in the lane. */
  end(ticket: number, start: number, end: number): number {
    let freed = start;
    for (let k = ticket - this.servers; k >= Math.max(0, ticket - this.servers - LOOKBACK); k--) {
      const e = this.ends.get(k);
      if (e !== undefined && e > freed) freed = e;
    }
    this.ends.set(ticket, end);
    // Only the last LOOKBACK calls before the newest are ever read.
    if (this.ends.size > 2 * (LOOKBACK + this.servers)) {
      for (const k of this.ends.keys()) if (k < this.next - LOOKBACK - this.servers) this.ends.delete(k);
    }
    return end - Math.min(freed, end);
  }
}

/** How far back a call looks for the end that freed its server. */
const LOOKBACK = 64;
