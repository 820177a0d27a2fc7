import { formatMs, formatRatio } from '../report/format-latency.js';
import { MIN_RUNS_FOR_MEDIAN_CI, overlaps, type Summary } from '../stats.js';

/** Two latency measurements side by side: which is faster, by how much, and whether that is proven. */
export interface LatencyComparison {
  baseline: string;
  candidate: string;
  /** candidate p50 / baseline p50 (below 1: the candidate is faster). */
  ratio: number;
  /**
   * Interval of the ratio, from the medians' own 95 % intervals (the candidate's low end over the
   * baseline's high end, and the reverse): it contains 1 exactly when the two intervals overlap. It holds
   * the true ratio whenever both medians' intervals do, so at least 90 % of the time (union bound);
   * named for the intervals it is built from.
   */
  ratioCi95: [number, number];
  /** baseline p50 / candidate p50 (above 1: the candidate is faster) and its interval. */
  speedup: number;
  speedupCi95: [number, number];
  /** The faster one when the intervals are apart; null when they overlap (no winner may be called). */
  winner: string | null;
  verdict: string;
}

/** Latency as the comparison needs it: a name and the summary of its runs (p50 and its interval). */
export interface NamedLatency {
  name: string;
  latency: Pick<Summary, 'p50' | 'p50Ci95' | 'n'>;
}


export interface CompareOptions {
  /**
   * How the two were timed: 'interleaved' (default: round by round, as measureInterleaved does, so a
   * change in the machine's load hits both alike) or 'sequential' (one after the other, as isolated
   * processes are). The intervals hold only the run-to-run noise within each measurement; a load that
   * changed between two sequential ones is in neither, and identical models then look different
   * (scripts/stats-qa.ts: a winner named in 41 to 56 % of A-against-A comparisons under a wandering
   * load, none when interleaved). A named winner's verdict says so.
   */
  timing?: 'interleaved' | 'sequential';
}

/**
 * Compares the median latencies of two measurements. A winner is named only when the 95 % intervals
 * of the two medians do not overlap; otherwise the verdict says the difference is within the noise,
 * however far apart the medians look.
 */
export function compareLatency(baseline: NamedLatency, candidate: NamedLatency, options: CompareOptions = {}): LatencyComparison {
  const a = baseline.latency;
  const b = candidate.latency;
  const ratio = b.p50 / a.p50;
  const ratioCi95: [number, number] = [b.p50Ci95[0] / a.p50Ci95[1], b.p50Ci95[1] / a.p50Ci95[0]];
  const speedupCi95: [number, number] = [1 / ratioCi95[1], 1 / ratioCi95[0]];
  // Below MIN_RUNS_FOR_MEDIAN_CI runs, [min, max] holds the median less than 95 % of the time: two
  // measurements of one model would be told apart far more often than one time in twenty.
  const fewest = Math.min(a.n, b.n);
  const enough = fewest >= MIN_RUNS_FOR_MEDIAN_CI;
  const apart = enough && !overlaps(a.p50Ci95, b.p50Ci95);
  const winner = !apart ? null : b.p50 < a.p50 ? candidate.name : baseline.name;
  const fmt = formatRatio;
  const range = `p50 ${formatMs(b.p50)} vs ${formatMs(a.p50)} ms, ratio ${fmt(ratio)} [${fmt(ratioCi95[0])}, ${fmt(ratioCi95[1])}]`;
  const verdict = !enough
    ? `no winner: ${fewest} timed runs are too few for a 95 % interval of the median (at least ${MIN_RUNS_FOR_MEDIAN_CI} are needed) (${range})`
    : winner === null
    ? `no winner: the 95 % intervals of the medians overlap (${range})`
    : winner === candidate.name
      ? `${candidate.name} is faster than ${baseline.name}: ${fmt(1 / ratio)}x [${fmt(speedupCi95[0])}, ${fmt(speedupCi95[1])}] (${range})`
      : `${baseline.name} is faster than ${candidate.name}: ${fmt(ratio)}x [${fmt(ratioCi95[0])}, ${fmt(ratioCi95[1])}] (${range})`;
  const caveat = winner !== null && options.timing === 'sequential'
    ? '; timed one after the other, not interleaved: a change in the machine\'s load between the two is in neither interval, so a difference of a few percent may be that'
    : '';
  return { baseline: baseline.name, candidate: candidate.name, ratio, ratioCi95, speedup: 1 / ratio, speedupCi95, winner, verdict: verdict + caveat };
}
