import { ForgeError, ForgeErrorCode } from '@onnx-forge/core';
import { summarize, type Summary } from '../stats.js';

/** Latency figures of a steady-state run: the percentiles and intervals of `Summary`, and the rates. */
export interface LatencyStats extends Summary {
  /**
   * Half-width of the 95 % confidence interval of the mean (Student t); Infinity with fewer than 2 runs.
   * `meanCi95` is that interval with its low end clamped at 0 (a latency is never negative, though
   * mean − margin can be on a skewed sample).
   */
  meanMarginOfError95: number;
  /** Runs completed per second of wall time (from `wallMs` when given, else 1000 / mean). */
  runsPerSecond: number;
}

/**
 * Percentiles, mean with its margin of error and runs per second of a list of latencies (ms). A
 * negative latency is refused (FORGE_BAD_INPUT), as summarize refuses NaN: it comes from a clock that
 * went backwards (wall-clock time stepped by NTP, two clocks mixed), and would pull every figure down
 * (and leave the mean's interval, clamped at 0, upside down).
 */
export function latencyStats(samplesMs: readonly number[], wallMs?: number): LatencyStats {
  const negative = samplesMs.findIndex((v) => v < 0);
  if (negative >= 0) {
    throw new ForgeError(ForgeErrorCode.BAD_INPUT, `cannot summarize latencies: sample ${negative} is ${samplesMs[negative]} ms; a latency is never negative (time it with a monotonic clock, such as performance.now(), not Date.now())`, { details: { index: negative } });
  }
  const s = summarize(samplesMs);
  const moe = s.n > 1 ? (s.meanCi95[1] - s.meanCi95[0]) / 2 : Infinity;
  const runsPerSecond = wallMs !== undefined && wallMs > 0 ? (s.n * 1000) / wallMs : s.mean > 0 ? 1000 / s.mean : 0;
  return { ...s, meanCi95: [Math.max(0, s.meanCi95[0]), s.meanCi95[1]], meanMarginOfError95: moe, runsPerSecond };
}
