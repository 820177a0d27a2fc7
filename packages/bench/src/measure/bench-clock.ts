import { systemClock, type Clock } from '@onnx-forge/runtime';

/**
 * Time as the measuring core reads it: runtime's Clock (a monotonic `now()` and one-shot timers).
 * Every loop here takes one, so tests drive scenarios on a manual clock (runtime's ManualClock) with
 * scripted targets and get exact figures instead of sleeping through real time.
 */
export type BenchClock = Clock;

export const defaultBenchClock: BenchClock = systemClock;

/** Resolves after `ms` milliseconds of the clock's time (at once for ms <= 0). */
export function sleep(clock: BenchClock, ms: number): Promise<void> {
  if (!(ms > 0)) return Promise.resolve();
  return new Promise((resolve) => {
    clock.setTimeout(resolve, ms);
  });
}
