import { ForgeErrorCode, type RunnerFeeds } from '@onnx-forge/core';
import { latencyStats } from '../measure/latency-stats.js';
import { measureInterleavedSettled } from '../measure/measure-interleaved.js';
import { stageError } from '../measure/stage-error.js';
import { peakRssBytes } from '../isolate.js';
import type { LiveVariant, OptimizeRun } from './optimize-run.js';

/**
 * Latency of every variant still ok, side by side (interleaved) on the same feeds, and the peak memory
 * of this process they shared. A variant whose run throws is reported failed; the others are measured
 * again without it. Cancelling reaches the caller.
 */
export async function timeVariants(run: OptimizeRun, live: readonly LiveVariant[], feeds: RunnerFeeds): Promise<void> {
  const { options, runs, warmup, seed, clock, progress } = run;
  const measured = live.filter((l) => l.v.status === 'ok');
  if (!measured.length) return;
  try {
    const { times, failed } = await measureInterleavedSettled(measured.map((l) => ({ name: l.v.name, run: () => l.m.run(feeds) })), {
      runs, warmup, seed, clock, ...(options.signal ? { signal: options.signal } : {}),
      onProgress: (done, total) => progress({ phase: 'benchmark', done, total, message: `${measured.length} variants interleaved, round ${done}/${total}` }),
    });
    for (const l of measured) {
      if (failed.has(l.v.name)) {
        run.fail(l.v, stageError('benchmark', failed.get(l.v.name)));
        continue;
      }
      const t = times.get(l.v.name);
      if (!t) continue;
      Object.assign(l.v, { warmupMs: t.warmupMs, samplesMs: t.samplesMs, latency: latencyStats(t.samplesMs) });
    }
  } catch (e) {
    if ((e as { code?: string }).code === ForgeErrorCode.CANCELLED) throw e;
    for (const l of measured) run.fail(l.v, stageError('benchmark', e));
  }
  const peak = peakRssBytes();
  for (const l of measured) if (l.v.memory) l.v.memory.peakRssBytes = peak;
}
