import { describe, expect, it } from 'vitest';
import { latencyStats } from '../measure/latency-stats.js';
import { formatMs, meanText, medianIntervalText, p50Text, percentileText } from './format-latency.js';

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

  it('writes the interval of a median from fewer than 6 runs as the range it is, not as a 95 % interval', () => {
    // 5 runs: [min, max] holds the median 93.75 % of the time (75 % at 3): the column says 95 % CI, the cell must not pass for one.
    const five = latencyStats([1.63, 1.7, 1.83, 1.85, 1.87]);
    expect(p50Text(five)).toBe('1.83 [min 1.63, max 1.87]');
    expect(medianIntervalText(five.p50Ci95, five.n)).toBe('[min 1.63, max 1.87]');
    const six = latencyStats([1.63, 1.7, 1.83, 1.85, 1.87, 1.9]);
    expect(p50Text(six)).toBe(`1.84 [${formatMs(six.p50Ci95[0])}, ${formatMs(six.p50Ci95[1])}]`);
    // Without a count (a figure from elsewhere), the interval is taken as given.
    expect(medianIntervalText([1, 2])).toBe('[1.00, 2.00]');
  });
});
