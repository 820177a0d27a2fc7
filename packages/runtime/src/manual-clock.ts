import { ForgeError, ForgeErrorCode } from '@onnx-forge/core';
import type { Clock, TimerHandle } from './clock.js';

interface Timer {
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
}

// A macrotask boundary: every promise callback queued before it has run once it fires.
const nextMacrotask = (): Promise<void> =>
  new Promise((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)));

/**
 * A Clock that moves only when told to, for deterministic tests of code that takes a `Clock` (time
 * limits, timings, batching delays) that must not depend on how busy the machine is. `advance(ms)`
 * fires the timers that fall due, earliest first (equal times in the order they were set), each with
 * `now()` at its due time; `run(promise)` drives a whole asynchronous scenario (scripted backends
 * that "take" 12 ms by `sleep(12)`) to its end without waiting on real time.
 */
export class ManualClock implements Clock {
  private time: number;
  private seq = 0;
  private readonly timers = new Map<number, Timer>();

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const id = ++this.seq;
    // As the platform's setTimeout: a negative or non-numeric delay means "as soon as possible".
    this.timers.set(id, { id, at: this.time + Math.max(0, Number.isFinite(ms) ? ms : 0), callback });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    if (typeof handle === 'number') this.timers.delete(handle);
  }

  /** Resolves when the clock has been advanced by `ms`. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, ms));
  }

  /** Timers set and not yet fired or cleared. */
  get pendingTimers(): number {
    return this.timers.size;
  }

  /**
   * Moves time forward by `ms`, firing each timer that falls due at its own time, in order (timers
   * those callbacks set fire too when they fall within `ms`). Throws a RangeError for a negative or
   * NaN `ms`: a monotonic clock cannot go back, and a test that asks it to has a bug.
   */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`ManualClock.advance: a clock only moves forward, got ${ms} ms`);
    const end = this.time + ms;
    for (let next = this.earliest(); next !== undefined && next.at <= end; next = this.earliest()) {
      this.timers.delete(next.id);
      this.time = next.at;
      next.callback();
    }
    this.time = end;
  }

  /**
   * Lets pending promise callbacks run, then jumps to the next timer, until `promise` settles; returns
   * its value or throws its error. Fails when the promise waits on nothing this clock controls.
   */
  async run<T>(promise: Promise<T>, maxSteps = 10_000_000): Promise<T> {
    let state: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
    promise.then(
      (value) => (state = { ok: true, value }),
      (error: unknown) => (state = { ok: false, error }),
    );
    for (let step = 0; ; step++) {
      await nextMacrotask();
      if (state) break;
      const next = this.earliest();
      if (!next || step >= maxSteps) {
        throw new ForgeError(ForgeErrorCode.RUNTIME, next
          ? `ManualClock.run: the promise did not settle within ${maxSteps} steps; pass a larger maxSteps if the scenario really is that long`
          : 'ManualClock.run: the promise waits on something other than this clock (no timer is pending); make what it awaits use this clock, or await it directly', {
          details: { now: this.time, steps: step, pendingTimers: this.timers.size },
        });
      }
      this.advance(next.at - this.time);
    }
    if (!state.ok) throw state.error;
    return state.value;
  }

  private earliest(): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.timers.values()) if (!best || t.at < best.at || (t.at === best.at && t.id < best.id)) best = t;
    return best;
  }
}
