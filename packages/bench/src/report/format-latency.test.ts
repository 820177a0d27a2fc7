import { describe, expect, it } from 'vitest';
import { latencyStats } from '../measure/latency-stats.js';
import { formatMs, meanText, p50Text, percentileText } from './format-latency.js';

describe('latency text of the reports, optimize and bench', () => {
  it('writes a skewed sample\'s mean as an interval whose low end is 0, never "mean ± margin" below zero', () => {
    // 1, 1, 1, 1, 50 ms: mean 10.8, margin t(4) * sd / sqrt(5) = 27.2, so mean − margin is −16.4.
    const l = latencyStats([1, 1, 1, 1, 50]);
    expect(l.mean - l.meanMarginOfError95).toBeLessThan(0);
    expect(meanText(l)).toBe('10.80 [0.00, 38.00]');
    expect(l.meanCi95[0]).toBe(0);
  });

  it('gives sub-millisecond latencies three significant digits', () => {
    expect([0.0634, 0.29, 12.345, 1234.5, 0].map(formatMs)).toEqual(['0.0634', '0.290', '12.35', '1234.50', '0.00']);
    expect(formatMs(Infinity)).toBe('∞');
    expect(formatMs(undefined)).toBe('');
    expect(p50Text({ p50: 0.0634, p50Ci95: [0.061, 0.07] })).toBe('0.0634 [0.0610, 0.0700]');
  });

  it('writes a tail percentile that the runs cannot resolve as the slowest run, marked max', () => {
    // 30 runs: p99 interpolates between the two slowest (49.01 here), a figure 30 runs cannot give.
    const thirty = latencyStats(Array.from({ length: 30 }, (_, i) => (i === 29 ? 50 : 20 + i)));
    expect(percentileText(thirty, 0.99, thirty.p99)).toBe('max 50.00');
    expect(percentileText(thirty, 0.9, thirty.p90)).toBe(formatMs(thirty.p90));
    const hundred = latencyStats(Array.from({ length: 100 }, (_, i) => i));
    expect(percentileText(hundred, 0.99, hundred.p99)).toBe('98.01');
    expect(percentileText(hundred, 0.999, hundred.p999)).toBe('max 99.00');
  });
});
