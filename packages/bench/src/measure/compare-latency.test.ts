import { describe, expect, it } from 'vitest';
import { summarize } from '../stats.js';
import { compareLatency } from './compare-latency.js';

const around = (center: number, spread: number, n = 60) => Array.from({ length: n }, (_, i) => center + spread * Math.sin(i * 1.7));

describe('compareLatency', () => {
  it('names the faster one, with the ratio and its interval, when the intervals are apart', () => {
    const c = compareLatency({ name: 'fp32', latency: summarize(around(100, 5)) }, { name: 'int8', latency: summarize(around(50, 3)) });
    expect(c.winner).toBe('int8');
    expect(c.ratio).toBeCloseTo(0.5, 1);
    expect(c.ratioCi95[0]).toBeLessThan(c.ratio);
    expect(c.ratioCi95[1]).toBeGreaterThan(c.ratio);
    expect(c.ratioCi95[1]).toBeLessThan(1);
    expect(c.speedup).toBeCloseTo(2, 0);
    expect(c.verdict).toMatch(/^int8 is faster than fp32: 2\.\d\dx/);
  });

  it('names the baseline when the candidate is slower', () => {
    const c = compareLatency({ name: 'a', latency: summarize(around(10, 1)) }, { name: 'b', latency: summarize(around(30, 1)) });
    expect(c.winner).toBe('a');
    expect(c.ratioCi95[0]).toBeGreaterThan(1);
  });

  it('refuses a winner when the intervals overlap, even with different medians', () => {
    const c = compareLatency({ name: 'a', latency: summarize(around(100, 20, 10)) }, { name: 'b', latency: summarize(around(104, 20, 10)) });
    expect(c.winner).toBeNull();
    expect(c.ratioCi95[0]).toBeLessThan(1);
    expect(c.ratioCi95[1]).toBeGreaterThan(1);
    expect(c.verdict).toMatch(/^no winner: the 95 % intervals of the medians overlap/);
  });

  it('names no winner from fewer than 6 runs: [min, max] of 3 runs holds the median only 75 % of the time', () => {
    // Identical models give two disjoint ranges of 3 runs one time in ten.
    const c = compareLatency({ name: 'a', latency: summarize([1.0, 1.1, 1.2]) }, { name: 'b', latency: summarize([1.3, 1.4, 1.5]) });
    expect(c.winner).toBeNull();
    expect(c.verdict).toMatch(/^no winner: 3 timed runs are too few for a 95 % interval of the median \(at least 6 are needed\)/);
    const six = compareLatency({ name: 'a', latency: summarize([1.0, 1.1, 1.2, 1.0, 1.1, 1.2]) }, { name: 'b', latency: summarize([1.3, 1.4, 1.5, 1.3, 1.4, 1.5]) });
    expect(six.winner).toBe('a');
  });

  it('says a winner from measurements timed one after the other may be a change in load between them', () => {
    // Under a wandering load, A against A timed one after the other named a winner about half the time
    // (scripts/stats-qa.ts, 2b); interleaved, never. Before: the same verdict either way.
    const a = { name: 'a', latency: summarize(around(10, 0.1)) };
    const b = { name: 'b', latency: summarize(around(10.5, 0.1)) };
    expect(compareLatency(a, b, { timing: 'sequential' }).verdict).toMatch(/^a is faster than b: .*; timed one after the other, not interleaved: a change in the machine's load between the two is in neither interval/);
    expect(compareLatency(a, b).verdict).not.toMatch(/one after the other/);
    // No winner, nothing to qualify.
    expect(compareLatency(a, a, { timing: 'sequential' }).verdict).toMatch(/^no winner: the 95 % intervals of the medians overlap \([^)]*\)$/);
  });
});
