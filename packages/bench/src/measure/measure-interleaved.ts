import { ForgeError, ForgeErrorCode, Rng } from '@onnx-forge/core';
import { defaultBenchClock, type BenchClock } from './bench-clock.js';
import { checkCount, throwIfAborted, type RunTimes } from './measure-runs.js';

/** Something to time: one call of `run` is one inference. */
export interface RunTarget {
  readonly name: string;
  run(): Promise<unknown>;
}

export interface InterleavedOptions {
  /** Untimed runs of each target before timing starts (default 5). */
  warmup?: number;
  /** Timed runs of each target (default 50). */
  runs?: number;
  /** Seed of the order within each round (default 1). */
  seed?: number;
  clock?: BenchClock;
  signal?: AbortSignal;
  /** Called after each round of timed runs. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Times several targets side by side: round after round, each target runs once, in an order shuffled
 * anew every round (seeded), so that a burst of load on a shared machine, thermal drift or a slow
 * spell hits every target alike instead of whichever happened to be measured then. `wallMs` of each
 * target is the sum of its own runs (the others ran in between).
 */
export async function measureInterleaved(targets: readonly RunTarget[], options: InterleavedOptions = {}): Promise<Map<string, RunTimes>> {
  if (targets.length === 0) throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, 'measureInterleaved: no targets to measure');
  const names = new Set(targets.map((t) => t.name));
  if (names.size !== targets.length) throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, 'measureInterleaved: every target needs its own name', { details: { names: targets.map((t) => t.name) } });
  const clock = options.clock ?? defaultBenchClock;
  const warmup = checkCount(options.warmup, 5, 0, 'warmup');
  const runs = checkCount(options.runs, 50, 1, 'runs');
  const rng = new Rng(options.seed ?? 1);
  const out = new Map<string, RunTimes>(targets.map((t) => [t.name, { warmupMs: [], samplesMs: [], wallMs: 0 }]));
  const timeOne = async (t: RunTarget, into: 'warmupMs' | 'samplesMs') => {
    const times = out.get(t.name) as RunTimes;
    const start = clock.now();
    await t.run();
    const ms = clock.now() - start;
    times[into].push(ms);
    if (into === 'samplesMs') times.wallMs += ms;
  };
  for (let round = 0; round < warmup + runs; round++) {
    throwIfAborted(options.signal, 'the measurement');
    for (const t of shuffled(targets, rng)) await timeOne(t, round < warmup ? 'warmupMs' : 'samplesMs');
    if (round >= warmup) options.onProgress?.(round - warmup + 1, runs);
  }
  return out;
}

/** A copy of `items` in a seeded random order (Fisher-Yates). */
export function shuffled<T>(items: readonly T[], rng: Rng): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(0, i + 1);
    [a[i], a[j]] = [a[j] as T, a[i] as T];
  }
  return a;
}

/** What measureInterleavedSettled gives: the times of the targets that ran through, and why the others stopped. */
export interface SettledTimes {
  times: Map<string, RunTimes>;
  /** Targets whose run threw, with what it threw. */
  failed: Map<string, unknown>;
}

/** A run of one target threw: carries which one, so the others can be measured without it. */
class TargetFailed extends Error {
  constructor(readonly target: string, readonly error: unknown) {
    super(`${target} failed`);
  }
}

/**
 * measureInterleaved where one target failing does not spoil the others: the target whose run throws
 * is set aside with its error, and the measurement starts again (warm-up included) with the rest, so
 * their figures come from rounds they all shared. A cancellation (or any error not thrown by a run)
 * reaches the caller.
 */
export async function measureInterleavedSettled(targets: readonly RunTarget[], options: InterleavedOptions = {}): Promise<SettledTimes> {
  const failed = new Map<string, unknown>();
  let remaining = [...targets];
  while (remaining.length) {
    const wrapped = remaining.map((t) => ({
      name: t.name,
      run: async () => {
        try {
          return await t.run();
        } catch (e) {
          throw new TargetFailed(t.name, e);
        }
      },
    }));
    try {
      return { times: await measureInterleaved(wrapped, options), failed };
    } catch (e) {
      if (!(e instanceof TargetFailed)) throw e;
      failed.set(e.target, e.error);
      remaining = remaining.filter((t) => t.name !== e.target);
    }
  }
  return { times: new Map(), failed };
}
