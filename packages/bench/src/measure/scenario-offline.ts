import { ForgeError, ForgeErrorCode } from '@onnx-forge/core';
import { defaultBenchClock, type BenchClock } from './bench-clock.js';
import { latencyStats, type LatencyStats } from './latency-stats.js';
import { checkCount } from './measure-runs.js';

export interface OfflineOptions {
  /** Queries, all available at the start (default 200). */
  queries?: number;
  /** Queries in flight at once (default 1; set it to the workers behind `run`). */
  concurrency?: number;
  clock?: BenchClock;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

/** MLPerf's Offline: every query is available at once; its metric is throughput. */
export interface OfflineResult {
  scenario: 'offline';
  queries: number;
  concurrency: number;
  /** The scenario's metric: queries completed per second. */
  throughput: number;
  wallMs: number;
  /** Per-query time from its issue to its completion. */
  latency: LatencyStats;
}

export async function offline(run: () => Promise<unknown>, options: OfflineOptions = {}): Promise<OfflineResult> {
  const clock = options.clock ?? defaultBenchClock;
  const queries = checkCount(options.queries, 200, 1, 'queries');
  const concurrency = checkCount(options.concurrency, 1, 1, 'concurrency');
  const samples: number[] = [];
  let next = 0;
  const start = clock.now();
  const worker = async () => {
    while (next < queries) {
      if (options.signal?.aborted) throw new ForgeError(ForgeErrorCode.CANCELLED, 'the offline scenario was cancelled');
      next++;
      const t = clock.now();
      await run();
      samples.push(clock.now() - t);
      options.onProgress?.(samples.length, queries);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, queries) }, worker));
  const wallMs = clock.now() - start;
  return { scenario: 'offline', queries, concurrency, throughput: wallMs > 0 ? (queries * 1000) / wallMs : Infinity, wallMs, latency: latencyStats(samples, wallMs) };
}
