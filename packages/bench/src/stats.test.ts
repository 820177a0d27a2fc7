import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { cosineSimilarity as coreCosineSimilarity } from '@onnx-forge/core';
import { cosineSimilarity, median, overlaps, quantile, summarize, tCritical } from './stats.js';

describe('summarize', () => {
  it('gives exact percentiles of a known sample', () => {
    const s = summarize(Array.from({ length: 101 }, (_, i) => i));
    expect(s.p50).toBe(50);
    expect(s.p90).toBe(90);
    expect(s.p99).toBe(99);
    expect(s.min).toBe(0);
    expect(s.max).toBe(100);
    expect(s.mean).toBe(50);
  });

  it('gives a mean interval that narrows with more samples and contains the mean', () => {
    const few = summarize([9, 10, 11, 10, 9, 11]);
    const many = summarize(Array.from({ length: 600 }, (_, i) => [9, 10, 11][i % 3] as number));
    expect(few.meanCi95[0]).toBeLessThan(10);
    expect(few.meanCi95[1]).toBeGreaterThan(10);
    expect(many.meanCi95[1] - many.meanCi95[0]).toBeLessThan((few.meanCi95[1] - few.meanCi95[0]) / 5);
  });

  it('has an unbounded interval for a single sample (no winner can be called from one run)', () => {
    expect(summarize([3]).meanCi95).toEqual([-Infinity, Infinity]);
  });

  test.prop([fc.array(fc.double({ noNaN: true, min: -1e6, max: 1e6 }), { minLength: 1, maxLength: 200 })])(
    'orders min ≤ p50 ≤ p90 ≤ p99 ≤ max and brackets the median',
    (xs) => {
      const s = summarize(xs);
      expect(s.min).toBeLessThanOrEqual(s.p50);
      expect(s.p50).toBeLessThanOrEqual(s.p90);
      expect(s.p90).toBeLessThanOrEqual(s.p99);
      expect(s.p99).toBeLessThanOrEqual(s.max);
      expect(s.p50Ci95[0]).toBeLessThanOrEqual(s.p50);
      expect(s.p50Ci95[1]).toBeGreaterThanOrEqual(s.p50);
      // The median by hand: the middle sample, or the mean of the two middle ones, within rounding of
      // the last bits: a + (b - a) / 2 and (a + b) / 2 may round differently, by a few units in the last
      // place of the operands (not of the result, which cancellation can make tiny: -1e6 and +1e6).
      const sorted = [...xs].sort((a, b) => a - b);
      const mid = Math.floor(sorted.length / 2);
      const [a, b] = [sorted[sorted.length % 2 === 1 ? mid : mid - 1] as number, sorted[mid] as number];
      const byHand = sorted.length % 2 === 1 ? b : (a + b) / 2;
      const tolerance = 4 * Number.EPSILON * Math.max(1, Math.abs(a), Math.abs(b));
      expect(Math.abs(s.p50 - byHand)).toBeLessThanOrEqual(tolerance);
      expect(Math.abs(median(xs) - byHand)).toBeLessThanOrEqual(tolerance);
    },
  );
});

describe('helpers', () => {
  it('interpolates quantiles', () => expect(quantile([0, 10], 0.25)).toBe(2.5));
  it('detects overlapping intervals', () => {
    expect(overlaps([1, 2], [2, 3])).toBe(true);
    expect(overlaps([1, 2], [2.1, 3])).toBe(false);
  });
  it('re-exports core\'s cosine similarity (tested in core)', () => expect(cosineSimilarity).toBe(coreCosineSimilarity));
});

describe('tCritical (two-sided 95 % Student t)', () => {
  it('matches published values between and beyond the table rows, never below them', () => {
    // t(0.975, df) from standard tables: the old lookup gave 2.131 at 11, 2.042 at 25, 2.000 at 40, 1.96 at 200.
    const published: [number, number][] = [[11, 2.201], [16, 2.12], [25, 2.06], [29, 2.045], [31, 2.0395], [40, 2.0211], [49, 2.0096], [100, 1.984], [200, 1.9719], [1000, 1.9623]];
    for (const [df, t] of published) expect(tCritical(df)).toBeCloseTo(t, 3);
  });

  it('the mean\'s interval of 12 samples uses t(11) = 2.201', () => {
    const xs = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
    const s = summarize(xs);
    const half = 2.201 * (s.std / Math.sqrt(12));
    expect(s.meanCi95[0]).toBeCloseTo(6.5 - half, 6);
    expect(s.meanCi95[1]).toBeCloseTo(6.5 + half, 6);
  });
});
