import { describe, expect, it } from 'vitest';
import { CircuitBreaker, DEFAULT_BREAKER, type BreakerOptions } from './circuit-breaker.js';

const breaker = (o: Partial<BreakerOptions>) => new CircuitBreaker({ ...DEFAULT_BREAKER, ...o });

/** `n` calls at `at`, the last `failed` of them failing; returns the transitions seen. */
function calls(b: CircuitBreaker, at: number, n: number, failed: number): string[] {
  const moves: string[] = [];
  for (let i = 0; i < n; i++) {
    const t = i >= n - failed ? b.recordFailure(at, false) : b.recordSuccess(at, false);
    if (t) moves.push(`${t.from}->${t.to}`);
  }
  return moves;
}

describe('CircuitBreaker: error rate over a rolling window (opossum model)', () => {
  it('has the defaults of opossum: 50 % over 10 s in 10 buckets, probe after 30 s; and at least 10 calls', () => {
    expect(DEFAULT_BREAKER).toEqual({ errorRate: 0.5, minRequests: 10, failures: 1, windowMs: 10_000, buckets: 10, resetMs: 30_000 });
  });

  it('stays closed below the error rate however many failures there are, and opens at the call that reaches it', () => {
    const b = breaker({ errorRate: 0.5, minRequests: 10 });
    // 100 calls, 40 failures (2 in every 5, never above 40 % so far): past any count rule, under the rate.
    for (let i = 0; i < 100; i++) (i % 5 >= 3 ? b.recordFailure(i, false) : b.recordSuccess(i, false));
    expect(b.state).toBe('closed');
    expect(b.window(99)).toEqual({ calls: 100, failures: 40, errorRate: 0.4 });
    // 20 more failures in a row: the rate reaches 50 % at 60 of 120 (the 20th).
    let openedAt: number | undefined;
    for (let i = 0; i < 20 && b.state === 'closed'; i++) {
      if (b.recordFailure(100 + i, false)) openedAt = i + 1;
    }
    expect(openedAt).toBe(20);
    expect(b.window(119)).toEqual({ calls: 120, failures: 60, errorRate: 0.5 });
    expect(b.nextProbeAt).toBe(119 + 30_000);
  });

  it('does not open below the minimum number of calls, even at 100 % errors', () => {
    const b = breaker({ minRequests: 10 });
    expect(calls(b, 0, 9, 9)).toEqual([]);
    expect(b.window(0)).toMatchObject({ calls: 9, failures: 9, errorRate: 1 });
    expect(b.state).toBe('closed');
    expect(calls(b, 1, 1, 1)).toEqual(['closed->open']);
  });

  it('needs a failure to open: successes never trip it, even when the rate is past the threshold from earlier failures', () => {
    const b = breaker({ minRequests: 4, errorRate: 0.5 });
    // 3 failures in 3 calls: under the minimum. Then successes bring the volume up: no move.
    expect(calls(b, 0, 3, 3)).toEqual([]);
    expect(calls(b, 0, 1, 0)).toEqual([]);
    expect(b.window(0)).toMatchObject({ calls: 4, failures: 3 });
    expect(b.state).toBe('closed');
    expect(calls(b, 0, 1, 1)).toEqual(['closed->open']);
  });

  it('forgets calls as the window slides bucket by bucket', () => {
    // 1 s window in 10 buckets of 100 ms.
    const b = breaker({ windowMs: 1_000, buckets: 10, minRequests: 10, errorRate: 0.5 });
    calls(b, 0, 10, 4); // at t=0: 4 failures of 10
    calls(b, 950, 10, 4); // at t=950 (bucket 9): 4 of 10 more: 8 of 20 in the window
    expect(b.window(950)).toEqual({ calls: 20, failures: 8, errorRate: 0.4 });
    // At t=1000 bucket 0 (t in [0, 100)) has left the window: only the second ten remain.
    expect(b.window(999)).toMatchObject({ calls: 20 });
    expect(b.window(1_000)).toEqual({ calls: 10, failures: 4, errorRate: 0.4 });
    // One failure now is 5 of 11: 45 %, closed; with the old calls still counted it would be 9 of 21.
    expect(calls(b, 1_000, 1, 1)).toEqual([]);
    expect(calls(b, 1_000, 1, 1)).toEqual(['closed->open']); // 6 of 12: 50 %
  });

  it('with errorRate 0 and minRequests 1 (the count rule), opens after N failures within the window, not after N failures spread wider', () => {
    const spread = breaker({ failures: 3, errorRate: 0, minRequests: 1, windowMs: 100 });
    expect(spread.recordFailure(0, false)).toBeUndefined();
    expect(spread.recordFailure(60, false)).toBeUndefined();
    expect(spread.recordFailure(120, false)).toBeUndefined(); // the first fell out of the window
    expect(spread.state).toBe('closed');
    calls(spread, 130, 50, 0); // successes do not dilute a count
    expect(spread.recordFailure(150, false)).toEqual({ from: 'closed', to: 'open' });
    expect(spread.nextProbeAt).toBe(30_150);
  });

  it('half-opens after the reset time, lets one probe decide, and ignores calls started before', () => {
    const b = breaker({ minRequests: 1, errorRate: 0.5, resetMs: 1000 });
    b.recordFailure(0, false);
    expect(b.state).toBe('open');
    // Nothing counts while open.
    b.recordFailure(10, false);
    b.recordSuccess(10, false);
    expect(b.window(10)).toMatchObject({ calls: 1, failures: 1 });
    expect(b.tick(999)).toBeUndefined();
    expect(b.tick(1000)).toEqual({ from: 'open', to: 'half-open' });
    expect(b.awaitingProbe).toBe(true);
    b.beginProbe();
    expect(b.awaitingProbe).toBe(false);
    // A probe that ends without a verdict (cancelled, or bad input) lets the next request probe.
    b.cancelProbe();
    expect(b.awaitingProbe).toBe(true);
    b.beginProbe();
    // A call that started before the circuit opened and finishes now does not decide.
    expect(b.recordSuccess(1001, false)).toBeUndefined();
    expect(b.recordFailure(1001, false)).toBeUndefined();
    expect(b.recordFailure(1002, true)).toEqual({ from: 'half-open', to: 'open' });
    expect(b.openedAt).toBe(1002);
    b.tick(2002);
    b.beginProbe();
    expect(b.recordSuccess(2002, true)).toEqual({ from: 'half-open', to: 'closed' });
    // Closing starts a fresh window.
    expect(b.window(2002)).toEqual({ calls: 0, failures: 0, errorRate: 0 });
    expect(b.timesOpened).toBe(2);
  });
});
