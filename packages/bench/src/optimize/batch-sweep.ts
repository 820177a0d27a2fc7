import type { Model, RunnerFeeds } from '@onnx-forge/core';
import { ForgeErrorCode } from '@onnx-forge/core';
import { modelInputSpecs, seededFeeds } from '@onnx-forge/graph-ops';
import type { BenchClock } from '../measure/bench-clock.js';
import { latencyStats, type LatencyStats } from '../measure/latency-stats.js';
import { measureInterleaved } from '../measure/measure-interleaved.js';
import { stageError, type StageError } from '../measure/stage-error.js';
import { MIN_RUNS_FOR_MEDIAN_CI, isBelow } from '../stats.js';

/** One batch size of one variant: latency of the whole batch and per sample. */
export interface BatchPoint {
  batch: number;
  latency: LatencyStats;
  /** p50 of the batch / batch size, with the interval scaled alike. */
  perSampleMs: number;
  perSampleCi95: [number, number];
  samplesPerSecond: number;
}

export interface BatchSweepResult {
  /** The symbolic dimension taken as the batch, or null when the model has none. */
  dim: string | null;
  sizes: number[];
  note: string;
  points: Record<string, BatchPoint[]>;
  /**
   * Per variant, the batch size with the lowest per-sample p50 when it is provably lowest (its 95 %
   * interval below every other size's); a variant whose intervals overlap has no entry.
   */
  best: Record<string, number>;
  error?: StageError;
}

/**
 * The batch dimension of a model: the first dimension of its inputs when it is symbolic and the same
 * name on every input (`batch`, `N`), or null.
 */
export function batchDim(model: Model): string | null {
  const specs = modelInputSpecs(model);
  const firsts = specs.map((s) => s.dims?.[0]);
  const first = firsts[0];
  return typeof first === 'string' && firsts.every((d) => d === first) ? first : null;
}

export interface BatchSweepOptions {
  sizes: readonly number[];
  dims: Readonly<Record<string, number>>;
  /**
   * The feeds the variants were timed on (a folder's first sample, or fitted seeded inputs): each batch
   * repeats their first row along the batch dimension, so every other dimension (an image's height and
   * width, an audio window) and the values are those of the main measurement. Without them (or when
   * they hold no row), seeded feeds shaped by `dims` are used.
   */
  feeds?: RunnerFeeds;
  seed: number;
  runs: number;
  warmup: number;
  clock: BenchClock;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, batch: number) => void;
}

/**
 * Measures every variant at each batch size, interleaved as the main measurement is, and gives the
 * per-sample latency: what a server batching requests gains (or loses) at each size.
 */
export async function batchSweep(model: Model, variants: readonly { name: string; run: (feeds: RunnerFeeds) => Promise<unknown> }[], o: BatchSweepOptions): Promise<BatchSweepResult> {
  const dim = batchDim(model);
  const sizes = [...o.sizes];
  const points: Record<string, BatchPoint[]> = Object.fromEntries(variants.map((v) => [v.name, []]));
  if (dim === null) return { dim, sizes, note: 'the model has no batch dimension (a symbolic first dimension shared by every input); batch sizes were not measured', points, best: {} };
  try {
    for (const [i, batch] of sizes.entries()) {
      o.onProgress?.(i, sizes.length, batch);
      const feeds = (o.feeds && repeatFirstRow(o.feeds, batch)) ?? seededFeeds(model, { seed: o.seed, dims: { ...o.dims, [dim]: batch } });
      const times = await measureInterleaved(variants.map((v) => ({ name: v.name, run: () => v.run(feeds) })), {
        runs: o.runs, warmup: o.warmup, seed: o.seed + batch, clock: o.clock, ...(o.signal ? { signal: o.signal } : {}),
      });
      for (const v of variants) {
        const t = times.get(v.name);
        if (!t) continue;
        const latency = latencyStats(t.samplesMs);
        points[v.name]?.push({
          batch, latency, perSampleMs: latency.p50 / batch, perSampleCi95: [latency.p50Ci95[0] / batch, latency.p50Ci95[1] / batch],
          samplesPerSecond: latency.p50 > 0 ? (batch * 1000) / latency.p50 : 0,
        });
      }
    }
  } catch (e) {
    // Cancelled is the caller's decision, not a failure of one batch size: it reaches the caller.
    if ((e as { code?: string }).code === ForgeErrorCode.CANCELLED) throw e;
    return { dim, sizes, note: `batch sizes stopped: ${stageError('batch', e).message}`, points, best: bestOf(points), error: stageError('batch', e) };
  }
  const on = o.feeds && repeatFirstRow(o.feeds, 1) ? `, on the first sample repeated ${sizes.join(', ')} times` : '';
  return { dim, sizes, note: `batch dimension "${dim}"; ${o.runs} interleaved runs per variant at each size${on}`, points, best: bestOf(points) };
}

/**
 * Feeds of `batch` rows, each a copy of the first row of `feeds` along their first (batch) dimension,
 * or undefined when an input has no row to copy (a scalar, an empty batch).
 */
export function repeatFirstRow(feeds: RunnerFeeds, batch: number): RunnerFeeds | undefined {
  const out: RunnerFeeds = {};
  for (const [name, t] of Object.entries(feeds)) {
    const rows = t.dims[0];
    if (t.dims.length === 0 || rows === undefined || !(rows >= 1)) return undefined;
    const row = t.data.length / rows;
    const dims = [batch, ...t.dims.slice(1)];
    if (Array.isArray(t.data)) {
      const first = (t.data as readonly string[]).slice(0, row);
      out[name] = { type: t.type, dims, data: Array.from({ length: batch }, () => first).flat() };
      continue;
    }
    const src = t.data as Exclude<RunnerFeeds[string]['data'], readonly string[]>;
    const data = new (src.constructor as new (n: number) => typeof src)(row * batch);
    const first = src.subarray(0, row);
    for (let i = 0; i < batch; i++) data.set(first as never, i * row);
    out[name] = { type: t.type, dims, data };
  }
  return out;
}

export function bestOf(points: Record<string, readonly BatchPoint[]>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, list] of Object.entries(points)) {
    const b = list.reduce<BatchPoint | undefined>((a, p) => (!a || p.perSampleMs < a.perSampleMs ? p : a), undefined);
    // No winner where the intervals overlap: the same rule as the variants' comparison.
    // Nor from fewer runs than a 95 % interval of a median needs (latency.n absent: not known, trusted).
    const enough = list.every((p) => !(p.latency?.n < MIN_RUNS_FOR_MEDIAN_CI));
    if (b && enough && list.every((p) => p === b || isBelow(b.perSampleCi95, p.perSampleCi95))) out[name] = b.batch;
  }
  return out;
}
