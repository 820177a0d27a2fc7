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
  /** Where the batch runs in each input (its dim; null for an input the batch shares, a scalar), when there is one. */
  axes?: Record<string, number | null>;
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
 * The batch dimension of a model and where it runs in each input: a symbolic dim that leads some input
 * and that every other input holds once (at any position: a recurrent state [layers, batch, hidden], as
 * Silero VAD's h and c) or, being a scalar (a sample rate), shares with the whole batch (null). The
 * first such name in input order, or null when there is none.
 */
export function batchAxes(model: Model): { dim: string; axes: Record<string, number | null> } | null {
  const specs = modelInputSpecs(model);
  const leading = [...new Set(specs.map((s) => s.dims?.[0]).filter((d): d is string => typeof d === 'string'))];
  for (const dim of leading) {
    const axes: Record<string, number | null> = {};
    const fits = specs.every((s) => {
      if (!s.dims) return false;
      const at = s.dims.flatMap((d, i) => (d === dim ? [i] : []));
      if (at.length === 1) axes[s.name] = at[0] as number;
      else if (at.length === 0 && s.dims.length === 0) axes[s.name] = null;
      else return false;
      return true;
    });
    if (fits) return { dim, axes };
  }
  return null;
}

/** The name of the model's batch dimension (see batchAxes), or null. */
export function batchDim(model: Model): string | null {
  return batchAxes(model)?.dim ?? null;
}

/** "dim 1 of h, c; sr shared by the batch": where the batch is not dim 0, and the inputs it shares. */
function layoutText(axes: Readonly<Record<string, number | null>>): string {
  const byAxis = new Map<number, string[]>();
  const shared: string[] = [];
  for (const [name, axis] of Object.entries(axes)) {
    if (axis === null) shared.push(name);
    else if (axis !== 0) byAxis.set(axis, [...(byAxis.get(axis) ?? []), name]);
  }
  const parts = [...byAxis].sort(([a], [b]) => a - b).map(([axis, names]) => `dim ${axis} of ${names.join(', ')}`);
  if (shared.length) parts.push(`${shared.join(', ')} shared by the batch`);
  return parts.length ? ` (${parts.join('; ')})` : '';
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
  const found = batchAxes(model);
  const sizes = [...o.sizes];
  const points: Record<string, BatchPoint[]> = Object.fromEntries(variants.map((v) => [v.name, []]));
  if (found === null) {
    return { dim: null, sizes, note: 'the model has no batch dimension (a symbolic dimension leading an input that every other input holds, or shares as a scalar); batch sizes were not measured', points, best: {} };
  }
  const { dim, axes } = found;
  try {
    for (const [i, batch] of sizes.entries()) {
      o.onProgress?.(i, sizes.length, batch);
      const feeds = (o.feeds && repeatFirstRow(o.feeds, batch, axes)) ?? seededFeeds(model, { seed: o.seed, dims: { ...o.dims, [dim]: batch } });
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
    return { dim, axes, sizes, note: `batch sizes stopped: ${stageError('batch', e).message}`, points, best: bestOf(points), error: stageError('batch', e) };
  }
  const on = o.feeds && repeatFirstRow(o.feeds, 1, axes) ? `, on the first sample repeated ${sizes.join(', ')} times` : '';
  const few = o.runs < MIN_RUNS_FOR_MEDIAN_CI ? `; ${o.runs} runs per size are too few to tell the sizes apart (a 95 % interval of a median needs ${MIN_RUNS_FOR_MEDIAN_CI})` : '';
  return { dim, axes, sizes, note: `batch dimension "${dim}"${layoutText(axes)}; ${o.runs} interleaved runs per variant at each size${on}${few}`, points, best: bestOf(points) };
}

/**
 * Feeds of `batch` rows, each a copy of the first row of `feeds` along the batch dim of each input
 * (`axes`, default dim 0; an input mapped to null is shared by the batch and kept as it is), or
 * undefined when a batched input has no row to copy (a scalar, an empty batch).
 */
export function repeatFirstRow(feeds: RunnerFeeds, batch: number, axes?: Readonly<Record<string, number | null>>): RunnerFeeds | undefined {
  const out: RunnerFeeds = {};
  for (const [name, t] of Object.entries(feeds)) {
    const axis = axes?.[name] === undefined ? 0 : axes[name];
    if (axis === null) {
      out[name] = t;
      continue;
    }
    const rows = t.dims[axis];
    if (rows === undefined || !(rows >= 1)) return undefined;
    // Blocks of `inner` values: `outer` of them before the batch dim, each holding `rows` rows.
    const outer = t.dims.slice(0, axis).reduce((a, d) => a * d, 1);
    const inner = t.dims.slice(axis + 1).reduce((a, d) => a * d, 1);
    const dims = t.dims.map((d, i) => (i === axis ? batch : d));
    if (Array.isArray(t.data)) {
      const src = t.data as readonly string[];
      const data: string[] = [];
      for (let o = 0; o < outer; o++) {
        const first = src.slice(o * rows * inner, o * rows * inner + inner);
        for (let b = 0; b < batch; b++) data.push(...first);
      }
      out[name] = { type: t.type, dims, data };
      continue;
    }
    const src = t.data as Exclude<RunnerFeeds[string]['data'], readonly string[]>;
    const data = new (src.constructor as new (n: number) => typeof src)(outer * batch * inner);
    for (let o = 0; o < outer; o++) {
      const first = src.subarray(o * rows * inner, o * rows * inner + inner);
      for (let b = 0; b < batch; b++) data.set(first as never, (o * batch + b) * inner);
    }
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
