/**
 * The longest delay a timer waits (2^31 - 1 ms, about 24.8 days), in Node and browsers alike: a longer
 * one fires after 1 ms (Node warns, browsers do not), so a time limit meant as "practically none" would
 * fail every call at once.
 */
export const MAX_TIMER_MS = 2_147_483_647;

/** Why `ms` cannot be a timer's delay (a sentence naming `name`), or undefined when it can. */
export function timerProblem(name: string, ms: number): string | undefined {
  return ms > MAX_TIMER_MS ? `${name} must be at most ${MAX_TIMER_MS} ms (about 24.8 days, the longest a timer waits), got ${ms}` : undefined;
}
