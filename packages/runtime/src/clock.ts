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

/** The real clock: performance.now() and the global timers. Frozen, since every default shares it. */
export const systemClock: Clock = Object.freeze({
  now: () => performance.now(),
  setTimeout: (callback: () => void, ms: number): TimerHandle => setTimeout(callback, ms),
  // The handle is whatever setTimeout above returned (a Timeout in Node, a number in browsers).
  clearTimeout: (handle: TimerHandle) => clearTimeout(handle as Parameters<typeof clearTimeout>[0]),
});

/** Whether a value can serve as a Clock (checked where options come in). */
export function isClock(value: unknown): value is Clock {
  if (typeof value !== 'object' || value === null) return false;
  const c = value as Partial<Record<keyof Clock, unknown>>;
  return typeof c.now === 'function' && typeof c.setTimeout === 'function' && typeof c.clearTimeout === 'function';
}
