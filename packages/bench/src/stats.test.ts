import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { cosineSimilarity as coreCosineSimilarity } from '@onnx-forge/core';
import { ForgeErrorCode } from '@onnx-forge/core';
import { MIN_RUNS_FOR_MEDIAN_CI, cosineSimilarity, median, overlaps, quantile, quantileResolved, summarize, tCritical } from './stats.js';

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

/** Exact probability that [x(lo+1), x(hi+1)] (0-based lo, hi) holds the median of a continuous distribution. */
function medianCoverage(n: number, lo: number, hi: number): number {
  // P(lo < B ≤ hi) for B ~ Binomial(n, 1/2), with exact binomial coefficients.
  let c = 1n;
  let hits = 0n;
  for (let k = 0; k <= n; k++) {
    if (k > lo && k <= hi) hits += c;
    c = (c * BigInt(n - k)) / BigInt(k + 1);
  }
  return Number((hits * 1_000_000n) / 2n ** BigInt(n)) / 1_000_000;
}

describe('the 95 % interval of the median', () => {
  it('holds the median at least 95 % of the time at every n, and is the narrowest symmetric pair that does', () => {
    // The normal approximation of the ranks gave [x(7), x(16)] at n = 21: 94.7 %.
    for (let n = MIN_RUNS_FOR_MEDIAN_CI; n <= 160; n++) {
      const s = summarize(Array.from({ length: n }, (_, i) => i));
      const [lo, hi] = s.p50Ci95;
      expect(lo + hi, `n=${n} symmetric`).toBe(n - 1);
      expect(medianCoverage(n, lo, hi), `n=${n} [${lo}, ${hi}]`).toBeGreaterThanOrEqual(0.95);
      if (lo + 1 < hi - 1) expect(medianCoverage(n, lo + 1, hi - 1), `n=${n} one rank in`).toBeLessThan(0.95);
    }
  });

  it('is [min, max] below MIN_RUNS_FOR_MEDIAN_CI, and found for 100 000 runs', () => {
    expect(summarize([5, 1, 3]).p50Ci95).toEqual([1, 5]);
    const s = summarize(Array.from({ length: 100_000 }, (_, i) => i));
    expect(s.p50Ci95).toEqual([49_689, 50_310]);
  });
});

describe('summarize: samples that are not measurements', () => {
  it('refuses NaN instead of sorting it into the percentiles', () => {
    // Before: min 3, p50 1.5 and a null max from [3, NaN, 1, 2, 5, 4, NaN, 0].
    expect(() => summarize([3, NaN, 1, 2, 5, 4, NaN, 0])).toThrow(expect.objectContaining({ code: ForgeErrorCode.BAD_INPUT, message: expect.stringContaining('sample 1 is NaN') }));
  });

  it('refuses an infinite sample, which leaves no mean or margin', () => {
    expect(() => summarize([1, 2, Infinity])).toThrow(expect.objectContaining({ code: ForgeErrorCode.BAD_INPUT }));
  });

  it('gives no mean for no samples (not 0 ms)', () => {
    const s = summarize([]);
    expect(s.n).toBe(0);
    expect(s.mean).toBeNaN();
    expect(s.p50).toBeNaN();
  });
});

describe('quantileResolved', () => {
  it('needs 1 / (1 − q) samples', () => {
    expect(quantileResolved(9, 0.9)).toBe(false);
    expect(quantileResolved(10, 0.9)).toBe(true);
    expect(quantileResolved(99, 0.99)).toBe(false);
    expect(quantileResolved(100, 0.99)).toBe(true);
    expect(quantileResolved(999, 0.999)).toBe(false);
    expect(quantileResolved(1000, 0.999)).toBe(true);
    expect(quantileResolved(1, 0.5)).toBe(false);
    expect(quantileResolved(2, 0.5)).toBe(true);
  });
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
