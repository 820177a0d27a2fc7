/** An opaque timer handle: whatever the clock's setTimeout returned, for its clearTimeout. */
export type TimerHandle = unknown;

/**
 * Time as onnx-forge reads it. Run timings, time limits, queue waits and batching delays go through a
 * Clock taken as an option (by sessions, pools, and hybrid's models and batcher), so tests (and
 * embedders with their own scheduler) control time instead of sleeping through it, as TanStack Query's
 * `timeoutManager` does for its timers. `ManualClock` is the one that moves only when told.
 */
export interface Clock {
  /** Milliseconds since an arbitrary origin, never going backwards (like performance.now()). */
  now(): number;
  /** Calls `callback` once, `ms` milliseconds from now; the handle goes to clearTimeout. */
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The longest delay the platform's setTimeout holds; past it Node (and browsers) fire after 1 ms. */
const MAX_DELAY = 2 ** 31 - 1;

/** A timer longer than MAX_DELAY: re-armed in steps, `timer` being the step now pending. */
class LongTimer {
  timer: ReturnType<typeof setTimeout> | undefined;

  constructor(callback: () => void, ms: number) {
    const arm = (left: number) => {
      this.timer = left > MAX_DELAY ? setTimeout(() => arm(left - MAX_DELAY), MAX_DELAY) : setTimeout(callback, left);
    };
    arm(ms);
  }
}

/**
 * The real clock: performance.now() and the global timers. Frozen, since every default shares it.
 * Delays past 2^31 - 1 ms (about 24.8 days; Infinity never ends) are kept, not cut to 1 ms.
 */
export const systemClock: Clock = Object.freeze({
  now: () => performance.now(),
  setTimeout: (callback: () => void, ms: number): TimerHandle => (ms > MAX_DELAY ? new LongTimer(callback, ms) : setTimeout(callback, ms)),
  // The handle is whatever setTimeout above returned (a Timeout in Node, a number in browsers, or a LongTimer).
  clearTimeout: (handle: TimerHandle) => clearTimeout((handle instanceof LongTimer ? handle.timer : handle) as Parameters<typeof clearTimeout>[0]),
});

/** Whether a value can serve as a Clock (checked where options come in). */
export function isClock(value: unknown): value is Clock {
  if (typeof value !== 'object' || value === null) return false;
  const c = value as Partial<Record<keyof Clock, unknown>>;
  return typeof c.now === 'function' && typeof c.setTimeout === 'function' && typeof c.clearTimeout === 'function';
}
