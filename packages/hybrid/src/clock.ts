/** An opaque timer handle: whatever the clock's setTimeout returned. */
export type TimerHandle = unknown;

/**
 * Time as the hybrid package sees it: a monotonic millisecond counter and one-shot timers. Injected
 * (TanStack Query's timeoutManager idea) so tests run on a `ManualClock` and never sleep on real time.
 */
export interface Clock {
  /** Milliseconds, monotonic (not wall-clock time). */
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** performance.now and the platform's timers. */
export const systemClock: Clock = Object.freeze({
  now: () => performance.now(),
  setTimeout: (callback: () => void, ms: number): TimerHandle => setTimeout(callback, ms),
  clearTimeout: (handle: TimerHandle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
});
