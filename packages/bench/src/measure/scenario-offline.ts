import { ForgeError, ForgeErrorCode, errorMessage } from '@onnx-forge/core';
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

/**
 * Runs the Offline scenario: `concurrency` loops take the next query as soon as their last one ends. A
 * failed query stops the scenario: no further query is issued, the ones in flight are waited for (so a
 * caller that closes its pool afterwards closes it idle), and it rejects with FORGE_RUNTIME naming the
 * query (a cancellation with FORGE_CANCELLED).
 */
export async function offline(run: () => Promise<unknown>, options: OfflineOptions = {}): Promise<OfflineResult> {
  const clock = options.clock ?? defaultBenchClock;
  const queries = checkCount(options.queries, 200, 1, 'queries');
  const concurrency = checkCount(options.concurrency, 1, 1, 'concurrency');
  const samples: number[] = [];
  let next = 0;
  let failure: ForgeError | undefined;
  const start = clock.now();
  const worker = async () => {
    while (next < queries && !failure) {
      if (options.signal?.aborted) {
        failure ??= new ForgeError(ForgeErrorCode.CANCELLED, 'the offline scenario was cancelled');
        return;
      }
      const n = ++next;
      const t = clock.now();
      try {
        await run();
      } catch (e) {
        failure ??= new ForgeError(ForgeErrorCode.RUNTIME, `offline scenario: query ${n} failed: ${errorMessage(e)}`, { cause: e, details: { query: n } });
        return;
      }
      samples.push(clock.now() - t);
      options.onProgress?.(samples.length, queries);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, queries) }, worker));
  if (failure) throw failure;
  const wallMs = clock.now() - start;
  return { scenario: 'offline', queries, concurrency, throughput: wallMs > 0 ? (queries * 1000) / wallMs : Infinity, wallMs, latency: latencyStats(samples, wallMs) };
}
