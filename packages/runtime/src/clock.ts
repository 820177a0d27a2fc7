/**
 * Time as the runtime reads it. Run timings, time limits and queue waits go through a Clock that
 * sessions and pools take as an option, so tests (and embedders with their own scheduler) control
 * time instead of sleeping through it, as TanStack Query's `timeoutManager` does for its timers.
 */
export interface Clock {
  /** Milliseconds since an arbitrary origin, never going backwards (like performance.now()). */
  now(): number;
  /** Calls `callback` once, `ms` milliseconds from now; the handle goes to clearTimeout. */
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real clock: performance.now() and the global timers. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  // The handle is whatever setTimeout above returned (a Timeout in Node, a number in browsers).
  clearTimeout: (handle) => clearTimeout(handle as Parameters<typeof clearTimeout>[0]),
};

/** Whether a value can serve as a Clock (checked where options come in). */
export function isClock(value: unknown): value is Clock {
  if (typeof value !== 'object' || value === null) return false;
  const c = value as Partial<Record<keyof Clock, unknown>>;
  return typeof c.now === 'function' && typeof c.setTimeout === 'function' && typeof c.clearTimeout === 'function';
}
