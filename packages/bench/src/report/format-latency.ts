/**
 * How latencies and their intervals are written, the same in the terminal, Markdown and HTML: with
 * enough digits that a sub-millisecond model's figures are not all "0.06", and the mean as its 95 %
 * interval rather than "± margin", whose low end (mean − margin) can fall below zero on a skewed
 * sample (a few slow runs among fast ones), a latency no run can have.
 */

import { MIN_RUNS_FOR_MEDIAN_CI, quantileResolved } from '../stats.js';

// Whether n runs resolve a percentile, and how many a median's 95 % interval needs, for callers that
// word figures as these functions do.
export { MIN_RUNS_FOR_MEDIAN_CI, quantileResolved };

/** A latency in ms: 3 significant digits, at least 2 decimals ("0.0634", "0.290", "12.35"); "" when absent, "∞" when infinite. */
export function formatMs(v: number | undefined): string {
  if (v === undefined || Number.isNaN(v)) return '';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '-∞';
  if (v === 0) return '0.00';
  const decimals = Math.min(6, Math.max(2, 2 - Math.floor(Math.log10(Math.abs(v)))));
  return v.toFixed(decimals);
}

/**
 * A ratio ("1.12"), with more digits when two decimals would round it to 1.00 though it is not 1:
 * an interval "[1.00, 1.24]" next to a named winner reads as if it contained 1.
 */
export function formatRatio(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  for (let d = 2; d <= 5; d++) {
    const s = v.toFixed(d);
    if (v === 1 || Number(s) !== 1) return s;
  }
  return v.toFixed(5);
}

/**
 * The 95 % interval of the mean latency, its low end clamped at 0 (Student's t interval is symmetric,
 * latency is not: a sample of 1, 1, 1, 1, 50 ms has mean 10.8 and margin 27).
 */
export function meanInterval(l: { mean: number; meanMarginOfError95: number }): [number, number] {
  return [Math.max(0, l.mean - l.meanMarginOfError95), l.mean + l.meanMarginOfError95];
}

/** "10.80 [0.00, 37.99]": the mean and its 95 % interval (low end at least 0). */
export function meanText(l: { mean: number; meanMarginOfError95: number }): string {
  const [lo, hi] = meanInterval(l);
  return `${formatMs(l.mean)} [${formatMs(lo)}, ${formatMs(hi)}]`;
}

/**
 * A tail percentile as far as the runs resolve it: with fewer than 1 / (1 − q) runs (100 for p99,
 * 1000 for p999) no run lies beyond the q quantile, and the interpolated figure is only the slowest
 * runs, so the text is "max " and the slowest run instead of a p99 that 30 runs cannot give.
 */
export function percentileText(l: { n: number; max: number }, q: number, value: number): string {
  return quantileResolved(l.n, q) ? formatMs(value) : `max ${formatMs(l.max)}`;
}

/**
 * "[0.0610, 0.0700]": the 95 % interval of a median; from fewer runs than one needs
 * (MIN_RUNS_FOR_MEDIAN_CI, 6) it is only the range of the runs, which holds the median less often
 * (75 % at 3 runs), and is written so: "[min 0.0610, max 0.0700]", under a column that says 95 % CI.
 * Without `n` the interval is taken as given.
 */
export function medianIntervalText(ci: readonly [number, number], n?: number): string {
  const range = n !== undefined && n < MIN_RUNS_FOR_MEDIAN_CI;
  return range ? `[min ${formatMs(ci[0])}, max ${formatMs(ci[1])}]` : `[${formatMs(ci[0])}, ${formatMs(ci[1])}]`;
}

/** "0.0634 [0.0610, 0.0700]": a median and its 95 % interval (see medianIntervalText for fewer than 6 runs). */
export function p50Text(l: { p50: number; p50Ci95: readonly [number, number]; n?: number }): string {
  return `${formatMs(l.p50)} ${medianIntervalText(l.p50Ci95, l.n)}`;
}
