import { ForgeError, ForgeErrorCode } from '@onnx-forge/core';
import { defaultBenchClock, type BenchClock } from './bench-clock.js';

export interface MeasureRunsOptions {
  /** Untimed runs first, so caches, allocators and lazily compiled kernels settle (default 5). */
  warmup?: number;
  /** Timed runs (default 50, at least 1). */
  runs?: number;
  /** Keep timing past `runs` until this much clock time has passed (default 0). */
  minTimeMs?: number;
  /** Stop at this many timed runs even when `minTimeMs` has not passed (default 100 000). */
  maxRuns?: number;
  clock?: BenchClock;
  signal?: AbortSignal;
  /** Called after each warm-up and timed run. */
  onProgress?: (done: number, total: number, phase: 'warmup' | 'runs') => void;
}

/** What `measureRuns` saw: each warm-up run apart from the steady-state runs. */
export interface RunTimes {
  warmupMs: number[];
  samplesMs: number[];
  /** Clock time from the first timed run's start to the last one's end. */
  wallMs: number;
}

export function checkCount(value: number | undefined, fallback: number, min: number, option: string): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min) {
    throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `${option} must be an integer >= ${min}, got ${String(value)}`, { details: { option, value } });
  }
  return v;
}

export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new ForgeError(ForgeErrorCode.CANCELLED, `${what} was cancelled`);
}

/**
 * Times `run` on the clock: `warmup` runs recorded apart, then at least `runs` timed runs (more while
 * `minTimeMs` has not passed). One run at a time: the latency of a single stream of requests.
 */
export async function measureRuns(run: () => Promise<unknown>, options: MeasureRunsOptions = {}): Promise<RunTimes> {
  const clock = options.clock ?? defaultBenchClock;
  const warmup = checkCount(options.warmup, 5, 0, 'warmup');
  const runs = checkCount(options.runs, 50, 1, 'runs');
  const maxRuns = checkCount(options.maxRuns, 100_000, runs, 'maxRuns');
  const minTimeMs = options.minTimeMs ?? 0;
  const warmupMs: number[] = [];
  for (let i = 0; i < warmup; i++) {
    throwIfAborted(options.signal, 'the measurement');
    const t = clock.now();
    await run();
    warmupMs.push(clock.now() - t);
    options.onProgress?.(i + 1, warmup, 'warmup');
  }
  const samplesMs: number[] = [];
  const start = clock.now();
  while (samplesMs.length < runs || (clock.now() - start < minTimeMs && samplesMs.length < maxRuns)) {
    throwIfAborted(options.signal, 'the measurement');
    const t = clock.now();
    await run();
    samplesMs.push(clock.now() - t);
    options.onProgress?.(samplesMs.length, runs, 'runs');
  }
  return { warmupMs, samplesMs, wallMs: clock.now() - start };
}
