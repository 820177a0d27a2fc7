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
  /** 95 % confidence interval of the mean (Student t). */
  meanCi95: [number, number];
  /** 95 % confidence interval of the median (distribution-free, order statistics). */
  p50Ci95: [number, number];
}

export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (pos - lo);
}

/** Two-sided 97.5 % quantile of Student's t with `df` degrees of freedom (table + normal limit). */
function tCritical(df: number): number {
  const table: [number, number][] = [[1, 12.706], [2, 4.303], [3, 3.182], [4, 2.776], [5, 2.571], [6, 2.447], [7, 2.365], [8, 2.306], [9, 2.262], [10, 2.228], [15, 2.131], [20, 2.086], [30, 2.042], [60, 2.0], [120, 1.98]];
  for (const [d, t] of table) if (df <= d) return t;
  return 1.96;
}

/** Median of unsorted samples. */
export function median(samples: readonly number[]): number {
  return quantile([...samples].sort((a, b) => a - b), 0.5);
}

export function summarize(samples: readonly number[]): Summary {
  const s = [...samples].sort((a, b) => a - b);
  const n = s.length;
  const mean = s.reduce((a, b) => a + b, 0) / Math.max(1, n);
  const variance = n > 1 ? s.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1) : 0;
  const std = Math.sqrt(variance);
  const half = n > 1 ? tCritical(n - 1) * (std / Math.sqrt(n)) : Infinity;
  // Order-statistic interval for the median: ranks n/2 ± 1.96 sqrt(n)/2.
  const d = 1.96 * Math.sqrt(n) / 2;
  const lo = Math.max(0, Math.floor(n / 2 - d));
  const hi = Math.min(n - 1, Math.ceil(n / 2 + d));
  return {
    n, mean, std,
    min: s[0] ?? NaN, max: s[n - 1] ?? NaN,
    p50: quantile(s, 0.5), p90: quantile(s, 0.9), p95: quantile(s, 0.95), p99: quantile(s, 0.99), p999: quantile(s, 0.999),
    meanCi95: [mean - half, mean + half],
    p50Ci95: [s[lo] ?? NaN, s[hi] ?? NaN],
  };
}

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
