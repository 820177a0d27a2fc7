import { ForgeError, ForgeErrorCode } from '@onnx-forge/core';

/** Summary statistics for timing samples, with a margin of error for the mean and percentiles. */
export interface Summary {
  n: number;
  mean: number;
  std: number;
  min: number;
  max: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
  /**
   * 95 % confidence interval of the mean (Student t). It holds the mean about 95 % of the time for
   * runs spread evenly about it, less on skewed ones, and no method can do much better from runs that
   * saw no stall (scripts/stats-qa.ts: 91 % for log-normal runs of σ = 1 at n = 50, 94 % for
   * exponential ones, 65 % when 2 % of runs stall at 10×). Comparisons use the median's interval.
   */
  meanCi95: [number, number];
  /** 95 % confidence interval of the median (distribution-free, order statistics). */
  p50Ci95: [number, number];
}

/** The q quantile of ascending samples, interpolated between the two nearest (R's and NumPy's default, type 7). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (pos - lo);
}

/** Student's t 97.5 % quantiles for 1 to 30 degrees of freedom (index df − 1). */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
  2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/**
 * The 97.5 % quantile of Student's t with `df` degrees of freedom (the critical value of a two-sided
 * 95 % interval): from the table up to 30, beyond by the Cornish-Fisher expansion around the normal
 * quantile (within 1e-5 there). Each df gets its own value: a table looked up at the next larger
 * tabulated df would narrow every interval between the rows.
 */
export function tCritical(df: number): number {
  if (!(df >= 1)) return Infinity;
  const d = Math.floor(df);
  if (d <= T975.length) return T975[d - 1] as number;
  const z = 1.959963984540054;
  const z3 = z ** 3;
  const z5 = z ** 5;
  const z7 = z ** 7;
  return z + (z3 + z) / (4 * d) + (5 * z5 + 16 * z3 + 3 * z) / (96 * d ** 2) + (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * d ** 3);
}

/** Median of unsorted samples. */
export function median(samples: readonly number[]): number {
  return quantile(Float64Array.from(samples).sort(), 0.5);
}

/**
 * 0-based ranks of the distribution-free 95 % interval of the median of n samples: the symmetric pair
 * [x(k), x(n+1−k)] (1-based) with the largest k whose exact coverage, 1 − 2·P(B ≤ k − 1) for B ~
 * Binomial(n, ½), is at least 95 %. The normal approximation of those ranks (n/2 ± 1.96·√n/2) covers
 * less than 95 % at some n (94.7 % at n = 21) and is lopsided at others. Below
 * MIN_RUNS_FOR_MEDIAN_CI no pair reaches 95 %: then [min, max], which covers less.
 */
export function medianCiRanks(n: number): [number, number] {
  if (n < 1) return [NaN, NaN];
  // P(B ≤ j) summed term by term in logs (2^-n underflows past n = 1074; the terms that do are negligible).
  let logTerm = -n * Math.LN2;
  let cdf = 0;
  let k = 1;
  for (let j = 0; j < n / 2; j++) {
    cdf += Math.exp(logTerm);
    if (2 * cdf > 0.05) break;
    k = j + 1;
    logTerm += Math.log(n - j) - Math.log(j + 1);
  }
  return [k - 1, n - k];
}

/** Whether n samples hold a run beyond the q quantile (n ≥ 1 / (1 − q)): with fewer, the q quantile is only the largest runs interpolated. */
export function quantileResolved(n: number, q: number): boolean {
  return q <= 0 || n >= Math.ceil(1 / (1 - q) - 1e-9);
}

/**
 * Summary of samples. NaN or infinite samples are refused (FORGE_BAD_INPUT): NaN breaks the sort every
 * percentile reads, and one infinite sample leaves no mean or margin. No samples give NaN figures.
 */
export function summarize(samples: readonly number[]): Summary {
  const bad = samples.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    throw new ForgeError(ForgeErrorCode.BAD_INPUT, `cannot summarize samples: sample ${bad} is ${String(samples[bad])}; every sample must be a finite number (leave out runs that failed or never ended, and report them apart)`, { details: { index: bad } });
  }
  // A typed array sorts numerically by itself, five times faster than Array#sort with a comparator
  // (0.2 s against 1.1 s for a million samples, as a minTimeMs run of a microsecond model gives).
  const s = Float64Array.from(samples).sort();
  const n = s.length;
  const mean = n > 0 ? s.reduce((a, b) => a + b, 0) / n : NaN;
  const variance = n > 1 ? s.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1) : n === 1 ? 0 : NaN;
  const std = Math.sqrt(variance);
  const half = n > 1 ? tCritical(n - 1) * (std / Math.sqrt(n)) : Infinity;
  const [lo, hi] = medianCiRanks(n);
  return {
    n, mean, std,
    min: s[0] ?? NaN, max: s[n - 1] ?? NaN,
    p50: quantile(s, 0.5), p90: quantile(s, 0.9), p95: quantile(s, 0.95), p99: quantile(s, 0.99), p999: quantile(s, 0.999),
    meanCi95: [mean - half, mean + half],
    p50Ci95: [s[lo] ?? NaN, s[hi] ?? NaN],
  };
}

/**
 * Fewest samples whose median has a distribution-free 95 % interval: with n samples the widest one,
 * [min, max], holds the median with probability 1 − 2·0.5^n, below 95 % up to n = 5 (75 % at 3). With
 * fewer, p50Ci95 is still [min, max], but no comparison may treat it as a 95 % interval.
 */
export const MIN_RUNS_FOR_MEDIAN_CI = 6;

/** Whether two intervals overlap (then no winner may be called). */
export function overlaps(a: readonly [number, number], b: readonly [number, number]): boolean {
  return a[0] <= b[1] && b[0] <= a[1];
}

/** Whether interval `a` lies wholly below `b` (apart from it, and lower): what "provably less" means here. */
export function isBelow(a: readonly [number, number], b: readonly [number, number]): boolean {
  return a[1] < b[0];
}

// Cosine similarity lives in core, so a benchmark report and a pass's tests measure accuracy alike.
export { cosineSimilarity } from '@onnx-forge/core';
