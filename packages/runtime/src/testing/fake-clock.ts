import type { Clock } from '../clock.js';

interface Timer {
  readonly at: number;
  readonly callback: () => void;
}

/**
 * A Clock that moves only when told: `advance(ms)` fires the timers that fall due, in order, each
 * with `now()` at its due time. For tests of time limits and timings that must not depend on how
 * busy the machine is.
 */
export class FakeClock implements Clock {
  private time: number;
  private readonly timers = new Map<number, Timer>();
  private nextId = 0;

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): number {
    const id = ++this.nextId;
    this.timers.set(id, { at: this.time + Math.max(0, ms), callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    if (typeof handle === 'number') this.timers.delete(handle);
  }

  /** Timers set and not yet fired or cleared. */
  get pending(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, firing due timers (earliest first; equal times in the order they were set). */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`a clock only moves forward, got ${ms} ms`);
    const end = this.time + ms;
    for (let next = this.due(end); next !== undefined; next = this.due(end)) {
      const [id, timer] = next;
      this.timers.delete(id);
      this.time = timer.at;
      timer.callback();
    }
    this.time = end;
  }

  private due(end: number): [number, Timer] | undefined {
    let first: [number, Timer] | undefined;
    // Map iteration follows insertion order, so among equal due times the first set wins.
    for (const entry of this.timers) if (entry[1].at <= end && (first === undefined || entry[1].at < first[1].at)) first = entry;
    return first;
  }
}
