import { latencyStats, type LatencyStats } from './latency-stats.js';
import { measureRuns, type MeasureRunsOptions } from './measure-runs.js';

/** MLPerf's SingleStream: one query at a time, the next sent when the last returns; its metric is p90 latency. */
export interface SingleStreamResult {
  scenario: 'single-stream';
  /** The scenario's metric: 90th percentile latency (ms). */
  p90Ms: number;
  latency: LatencyStats;
  warmupMs: number[];
  samplesMs: number[];
}

export async function singleStream(run: () => Promise<unknown>, options: MeasureRunsOptions = {}): Promise<SingleStreamResult> {
  const t = await measureRuns(run, options);
  const latency = latencyStats(t.samplesMs, t.wallMs);
  return { scenario: 'single-stream', p90Ms: latency.p90, latency, warmupMs: t.warmupMs, samplesMs: t.samplesMs };
}
