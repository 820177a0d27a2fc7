import { ForgeError, ForgeErrorCode, errorMessage } from '@onnx-forge/core';
import { latencyStats, type LatencyStats } from './latency-stats.js';
import { checkCount, measureRuns, type MeasureRunsOptions } from './measure-runs.js';

export interface MultiStreamOptions extends Omit<MeasureRunsOptions, 'runs' | 'onProgress'> {
  /** Samples in every query, issued together (default 8, MLPerf's MultiStream query size for vision). */
  samplesPerQuery?: number;
  /** Timed queries (default 200; p99 needs at least 100 to be more than the maximum). */
  queries?: number;
  /** Called after each warm-up and timed query. */
  onProgress?: (done: number, total: number, phase: 'warmup' | 'queries') => void;
}

/**
 * MLPerf's MultiStream: each query holds `samplesPerQuery` samples issued at once (as frames from
 * several cameras arrive together), and the next query is issued as soon as the last one has
 * completed; a query completes when its last sample does. Its metric is the 99th percentile of query
 * latency.
 */
export interface MultiStreamResult {
  scenario: 'multi-stream';
  samplesPerQuery: number;
  /** The scenario's metric: 99th percentile query latency (ms). */
  p99Ms: number;
  /** Per query, from its issue to the completion of its last sample. */
  latency: LatencyStats;
  /** Samples completed per second over the timed queries. */
  samplesPerSecond: number;
  warmupMs: number[];
  samplesMs: number[];
}

/**
 * Runs the MultiStream scenario over `run` (one sample per call). The samples of a query are issued
 * together, so `run` decides how they share the machine: a worker pool runs them side by side, an
 * in-process session one after another. A failed sample fails the scenario (MLPerf counts no query
 * with a missing sample), with FORGE_RUNTIME naming the query.
 */
export async function multiStream(run: () => Promise<unknown>, options: MultiStreamOptions = {}): Promise<MultiStreamResult> {
  const samplesPerQuery = checkCount(options.samplesPerQuery, 8, 1, 'samplesPerQuery');
  const queries = checkCount(options.queries, 200, 1, 'queries');
  let issued = 0;
  const query = async () => {
    const n = ++issued;
    try {
      await Promise.all(Array.from({ length: samplesPerQuery }, () => Promise.resolve().then(run)));
    } catch (e) {
      throw new ForgeError(ForgeErrorCode.RUNTIME, `multi-stream scenario: a sample of query ${n} failed: ${errorMessage(e)}`, { cause: e, details: { query: n } });
    }
  };
  const { onProgress, ...rest } = options;
  const t = await measureRuns(query, {
    ...rest,
    runs: queries,
    ...(onProgress ? { onProgress: (done: number, total: number, phase: 'warmup' | 'runs') => onProgress(done, total, phase === 'runs' ? 'queries' : 'warmup') } : {}),
  });
  const latency = latencyStats(t.samplesMs, t.wallMs);
  return {
    scenario: 'multi-stream',
    samplesPerQuery,
    p99Ms: latency.p99,
    latency,
    samplesPerSecond: t.wallMs > 0 ? (t.samplesMs.length * samplesPerQuery * 1000) / t.wallMs : Number.POSITIVE_INFINITY,
    warmupMs: t.warmupMs,
    samplesMs: t.samplesMs,
  };
}
