import { histogram, minMax } from '@onnx-forge/core';
import { entropyThreshold } from './entropy-threshold.js';

export interface CalibratedRange {
  min: number;
  max: number;
}

/**
 * Statistics of one activation tensor, fed batch by batch. Memory stays constant whatever the number
 * of batches: a collector never keeps the data it is given.
 */
export interface RangeCollector {
  add(values: Float32Array): void;
  /** The range to quantize to, or why there is none. */
  result(): { ok: true; range: CalibratedRange } | { ok: false; reason: string };
  readonly batches: number;
}

abstract class BaseCollector implements RangeCollector {
  batches = 0;
  protected min = Infinity;
  protected max = -Infinity;
  protected nonFinite = 0;
  protected nan = 0;

  add(values: Float32Array): void {
    if (values.length === 0) return;
    const r = minMax(values);
    this.nan += r.nanCount;
    if (!Number.isFinite(r.min) || !Number.isFinite(r.max)) {
      // A batch holding ±Inf has no finite range; the tensor stays float (reported).
      if (r.min !== Infinity || r.max !== -Infinity) this.nonFinite++;
      return;
    }
    this.batches++;
    this.observe(values, r.min, r.max);
  }

  protected abstract observe(values: Float32Array, min: number, max: number): void;
  protected abstract range(): CalibratedRange;

  result(): { ok: true; range: CalibratedRange } | { ok: false; reason: string } {
    if (this.nonFinite > 0) return { ok: false, reason: `${this.nonFinite} calibration batch(es) produced ±Inf in this tensor, which has no finite quantization range` };
    if (this.batches === 0) return { ok: false, reason: this.nan > 0 ? 'the tensor held only NaN during calibration' : 'the tensor was empty in every calibration batch' };
    return { ok: true, range: this.range() };
  }
}

/** MinMax: the global range, or an exponential moving average of per-batch ranges. */
export class MinMaxCollector extends BaseCollector {
  private avgMin = 0;
  private avgMax = 0;

  constructor(private readonly movingAverage: boolean, private readonly constant: number) {
    super();
  }

  protected observe(_values: Float32Array, min: number, max: number): void {
    if (this.batches === 1) {
      this.avgMin = min;
      this.avgMax = max;
    } else {
      this.avgMin += this.constant * (min - this.avgMin);
      this.avgMax += this.constant * (max - this.avgMax);
    }
    this.min = Math.min(this.min, min);
    this.max = Math.max(this.max, max);
  }

  protected range(): CalibratedRange {
    return this.movingAverage ? { min: this.avgMin, max: this.avgMax } : { min: this.min, max: this.max };
  }
}

export type HistogramMethod = { kind: 'percentile'; percentile: number } | { kind: 'entropy'; levels: number };

/**
 * A histogram of |x| over [0, hi] with a fixed number of bins. When a batch goes past hi, the range
 * doubles (as often as needed) and neighbouring bins merge pairwise, which is exact: no count moves
 * to a bin it was not in. So batches merge as they come and memory is the bin array alone.
 */
export class HistogramCollector extends BaseCollector {
  private counts: Float64Array;
  private hi = 0;
  private zeros = 0;

  constructor(private readonly method: HistogramMethod, readonly bins = 2048) {
    super();
    this.counts = new Float64Array(bins);
  }

  protected observe(values: Float32Array, min: number, max: number): void {
    this.min = Math.min(this.min, min);
    this.max = Math.max(this.max, max);
    const m = Math.max(Math.abs(min), Math.abs(max));
    if (m === 0) {
      this.zeros += values.length;
      return;
    }
    if (this.hi === 0) this.hi = m;
    while (m > this.hi) this.grow();
    histogram(values, this.counts, 0, this.hi, { abs: true });
  }

  private grow(): void {
    const c = this.counts;
    const half = c.length >> 1;
    for (let i = 0; i < half; i++) c[i] = (c[2 * i] as number) + (c[2 * i + 1] as number);
    c.fill(0, half);
    this.hi *= 2;
  }

  /** Bin counts with the all-zero batches folded into bin 0 (for tests and diagnostics). */
  snapshot(): { counts: Float64Array; hi: number } {
    const counts = Float64Array.from(this.counts);
    counts[0] = (counts[0] as number) + this.zeros;
    return { counts, hi: this.hi };
  }

  protected range(): CalibratedRange {
    if (this.hi === 0) return { min: 0, max: 0 };
    const { counts, hi } = this.snapshot();
    const width = hi / counts.length;
    let threshold: number;
    if (this.method.kind === 'percentile') {
      let total = 0;
      for (const c of counts) total += c;
      const target = (total * this.method.percentile) / 100;
      let acc = 0;
      let i = 0;
      for (; i < counts.length; i++) {
        acc += counts[i] as number;
        if (acc >= target) break;
      }
      threshold = Math.min(hi, (i + 1) * width);
    } else {
      threshold = entropyThreshold(counts, width, this.method.levels);
    }
    // Clip the observed range to ±threshold; a one-sided tensor (ReLU output) keeps its side.
    return { min: Math.max(this.min, -threshold), max: Math.min(this.max, threshold) };
  }
}

export interface CollectorOptions {
  calibration: 'minmax' | 'percentile' | 'entropy';
  movingAverage: boolean;
  averagingConstant: number;
  percentile: number;
}

export function createCollector(o: CollectorOptions): RangeCollector {
  switch (o.calibration) {
    case 'minmax': return new MinMaxCollector(o.movingAverage, o.averagingConstant);
    case 'percentile': return new HistogramCollector({ kind: 'percentile', percentile: o.percentile });
    // 128 levels: the positive half of an 8-bit code range, as in TensorRT's entropy calibration.
    case 'entropy': return new HistogramCollector({ kind: 'entropy', levels: 128 });
  }
}
