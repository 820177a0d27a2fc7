import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './circuit-breaker.js';

describe('CircuitBreaker', () => {
  it('opens after N failures within the window, not after N failures spread wider', () => {
    const spread = new CircuitBreaker({ failures: 3, windowMs: 100, resetMs: 1000 });
    expect(spread.recordFailure(0, false)).toBeUndefined();
    expect(spread.recordFailure(60, false)).toBeUndefined();
    expect(spread.recordFailure(120, false)).toBeUndefined(); // the first fell out of the window
    expect(spread.state).toBe('closed');
    expect(spread.recordFailure(150, false)).toEqual({ from: 'closed', to: 'open' });
    expect(spread.nextProbeAt).toBe(1150);
  });

  it('half-opens after the reset time, lets one probe decide, and ignores calls started before', () => {
    const b = new CircuitBreaker({ failures: 1, windowMs: 100, resetMs: 1000 });
    b.recordFailure(0, false);
    expect(b.tick(999)).toBeUndefined();
    expect(b.tick(1000)).toEqual({ from: 'open', to: 'half-open' });
    expect(b.awaitingProbe).toBe(true);
    b.beginProbe();
    expect(b.awaitingProbe).toBe(false);
    // A call that started before the circuit opened and finishes now does not decide.
    expect(b.recordSuccess(false)).toBeUndefined();
    expect(b.recordFailure(1001, false)).toBeUndefined();
    expect(b.recordFailure(1002, true)).toEqual({ from: 'half-open', to: 'open' });
    expect(b.openedAt).toBe(1002);
    b.tick(2002);
    b.beginProbe();
    expect(b.recordSuccess(true)).toEqual({ from: 'half-open', to: 'closed' });
    expect(b.failuresInWindow(2002)).toBe(0);
    expect(b.timesOpened).toBe(2);
  });
});
