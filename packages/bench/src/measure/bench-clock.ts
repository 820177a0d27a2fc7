import { systemClock, type Clock } from '@onnx-forge/runtime';

/**
 * Time as the measuring core reads it: runtime's Clock (a monotonic `now()` and one-shot timers).
 * Every loop here takes one, so tests drive scenarios on a manual clock (runtime's ManualClock) with
 * scripted targets and get exact figures instead of sleeping through real time.
 */
export type BenchClock = Clock;

export const defaultBenchClock: BenchClock = systemClock;

/**
 * Resolves after `ms` milliseconds of the clock's time (at once for ms <= 0), never before: Node's
 * timers count whole milliseconds of a loop time read earlier, so by performance.now() a timer of
 * 1.7 ms can fire after 0.9 (about half of fractional delays fire early, by up to 1.9 ms, measured on
 * Node 20), and whatever time is left is waited for again. The Server scenario issues each query at
 * its arrival time through this; issued early, it took its latency from a time it was already running.
 */
export async function sleep(clock: BenchClock, ms: number): Promise<void> {
  if (!(ms > 0)) return;
  let now = clock.now();
  const until = now + ms;
  for (let left = ms; left > 0; left = until - now) {
    await new Promise<void>((resolve) => {
      clock.setTimeout(resolve, left);
    });
    // A clock whose now() stood still while its timer ran (fake timers that leave performance.now()
    // alone) would have this wait forever: its timer is then taken at its word.
    const after = clock.now();
    if (after === now) return;
    now = after;
  }
}
