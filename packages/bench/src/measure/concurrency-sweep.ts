import { ForgeError, ForgeErrorCode, errorMessage } from '@onnx-forge/core';
import { quantile } from '../stats.js';
import { defaultBenchClock, sleep, type BenchClock } from './bench-clock.js';
import { latencyStats, type LatencyStats } from './latency-stats.js';
import { checkCount, throwIfAborted } from './measure-runs.js';

/** What a sweep drives at one concurrency: `run` may be called that many times at once. */
export interface ConcurrentTarget {
  run(): Promise<unknown>;
  close?(): Promise<void>;
}

export interface SweepOptions {
  /** Requests kept in flight, one measurement per value (e.g. [1, 2, 4]). */
  levels: readonly number[];
  /** Length of one measurement window (default 1000 ms). */
  windowMs?: number;
  /** Windows that must agree for a measurement to count as stable (default 3, as perf_analyzer). */
  stableWindows?: number;
  /** How far the largest of those windows may be above the smallest (max / min ≤ 1 + stability), throughput and median latency alike (default 0.1). */
  stability?: number;
  /** Windows measured at most per level before giving up on stability (default 10). */
  maxWindows?: number;
  /** Windows run first and discarded (default 1). */
  warmupWindows?: number;
  clock?: BenchClock;
  signal?: AbortSignal;
  onProgress?: (level: number, window: number, stable: boolean) => void;
}

/** One measurement window at one concurrency. */
export interface SweepWindow {
  runs: number;
  /** Completed runs per second in the window (over the time it really lasted, which a late timer stretches). */
  throughput: number;
  p50Ms: number;
}

export interface SweepLevel {
  concurrency: number;
  /** Whether the last `stableWindows` windows agreed within `stability`. */
  stable: boolean;
  windows: SweepWindow[];
  /** Runs per second over the windows that count: the stable ones, or every window when none settled. */
  throughput: number;
  latency: LatencyStats;
  errors: number;
  /** The first error a run threw, if any (the level stops at it). */
  error?: { code: string; message: string };
}

/**
 * perf_analyzer's rule: the largest value at most `stability` above the smallest (max / min ≤ 1.1).
 * "Each within 10 % of their average" would let the largest be 22 % above the smallest.
 */
function agree(values: readonly number[], stability: number): boolean {
  const min = Math.min(...values);
  return min > 0 && Math.max(...values) / min <= 1 + stability;
}

/**
 * Measures throughput and latency at each concurrency in turn, as Triton's perf_analyzer does: `level`
 * loops each issue a run as soon as their previous one ends, and the clock is cut into windows; a
 * level is stable once `stableWindows` consecutive windows agree within `stability` (10 %: the largest
 * at most 10 % above the smallest) on both throughput and median latency. A level that never settles is reported as unstable
 * with every window it measured, never silently averaged into a single figure.
 */
export async function concurrencySweep(open: (concurrency: number) => ConcurrentTarget | Promise<ConcurrentTarget>, options: SweepOptions): Promise<SweepLevel[]> {
  const clock = options.clock ?? defaultBenchClock;
  if (!Array.isArray(options.levels) || options.levels.length === 0) {
    throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, 'concurrencySweep: levels must list at least one concurrency, e.g. [1, 2, 4]', { details: { option: 'levels' } });
  }
  for (const l of options.levels) checkCount(l, 1, 1, 'concurrency');
  const windowMs = options.windowMs ?? 1000;
  if (!(windowMs > 0)) throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `windowMs must be > 0, got ${windowMs}`, { details: { option: 'windowMs' } });
  const k = checkCount(options.stableWindows, 3, 1, 'stableWindows');
  const maxWindows = checkCount(options.maxWindows, 10, k, 'maxWindows');
  const warmupWindows = checkCount(options.warmupWindows, 1, 0, 'warmupWindows');
  const stability = options.stability ?? 0.1;
  const out: SweepLevel[] = [];
  for (const level of options.levels) {
    throwIfAborted(options.signal, 'the concurrency sweep');
    const target = await open(level);
    try {
      out.push(await measureLevel(target, level, { clock, windowMs, k, maxWindows, warmupWindows, stability, ...(options.signal ? { signal: options.signal } : {}), ...(options.onProgress ? { onProgress: options.onProgress } : {}) }));
    } finally {
      await target.close?.();
    }
  }
  return out;
}

interface LevelSettings {
  clock: BenchClock;
  windowMs: number;
  k: number;
  maxWindows: number;
  warmupWindows: number;
  stability: number;
  signal?: AbortSignal;
  onProgress?: (level: number, window: number, stable: boolean) => void;
}

async function measureLevel(target: ConcurrentTarget, level: number, s: LevelSettings): Promise<SweepLevel> {
  const { clock } = s;
  const done: number[] = [];
  let stop = false;
  let errors = 0;
  let firstError: { code: string; message: string } | undefined;
  const loop = async () => {
    while (!stop) {
      const t = clock.now();
      try {
        await target.run();
      } catch (e) {
        errors++;
        firstError ??= { code: (e as { code?: string }).code ?? 'FORGE_RUNTIME', message: errorMessage(e) };
        stop = true;
        return;
      }
      done.push(clock.now() - t);
    }
  };
  const loops = Array.from({ length: level }, loop);
  const windows: SweepWindow[] = [];
  const windowSamples: number[][] = [];
  // How long each window really lasted: a timer fires late on a loaded machine (the event loop busy
  // with the very runs measured), and runs counted over a longer span than asked read as more throughput.
  const windowSpans: number[] = [];
  let stable = false;
  for (let w = 0; w < s.warmupWindows + s.maxWindows && !stop; w++) {
    throwIfAborted(s.signal, 'the concurrency sweep');
    const from = done.length;
    const opened = clock.now();
    await sleep(clock, s.windowMs);
    if (w < s.warmupWindows) continue;
    const samples = done.slice(from);
    const spanMs = clock.now() - opened;
    const sorted = [...samples].sort((a, b) => a - b);
    windows.push({ runs: samples.length, throughput: spanMs > 0 ? (samples.length * 1000) / spanMs : 0, p50Ms: samples.length ? quantile(sorted, 0.5) : NaN });
    windowSamples.push(samples);
    windowSpans.push(spanMs);
    const last = windows.slice(-s.k);
    stable = last.length === s.k && last.every((x) => x.runs > 0) && agree(last.map((x) => x.throughput), s.stability) && agree(last.map((x) => x.p50Ms), s.stability);
    s.onProgress?.(level, windows.length, stable);
    if (stable) break;
  }
  stop = true;
  await Promise.all(loops);
  const counted = stable ? windowSamples.slice(-s.k) : windowSamples;
  const samples = counted.flat();
  const spanMs = (stable ? windowSpans.slice(-s.k) : windowSpans).reduce((a, b) => a + b, 0);
  return {
    concurrency: level,
    stable,
    windows,
    throughput: spanMs > 0 ? (samples.length * 1000) / spanMs : 0,
    latency: latencyStats(samples, spanMs),
    errors,
    ...(firstError ? { error: firstError } : {}),
  };
}
