import { Rng } from '@onnx-forge/core';
import { describe, expect, it } from 'vitest';
import { entropyThreshold } from './entropy-threshold.js';
import { HistogramCollector, MinMaxCollector } from './range-collector.js';

const rng = new Rng(11);
const normal = (n: number, std = 1) => Float32Array.from({ length: n }, () => rng.normal(0, std));

describe('MinMaxCollector', () => {
  it('keeps the global range over batches', () => {
    const c = new MinMaxCollector(false, 0.01);
    c.add(Float32Array.of(-1, 2));
    c.add(Float32Array.of(-3, 1));
    expect(c.result()).toEqual({ ok: true, range: { min: -3, max: 2 } });
  });

  it('with a moving average, moves each bound by the constant toward the new batch', () => {
    const c = new MinMaxCollector(true, 0.5);
    c.add(Float32Array.of(-2, 2));
    c.add(Float32Array.of(-4, 6));
    expect(c.result()).toEqual({ ok: true, range: { min: -3, max: 4 } });
  });

  it('reports a tensor that held ±Inf instead of quantizing it', () => {
    const c = new MinMaxCollector(false, 0.01);
    c.add(Float32Array.of(1, -Infinity));
    expect(c.result()).toMatchObject({ ok: false, reason: expect.stringMatching(/Inf/) });
  });

  it('reports when no batch came', () => {
    expect(new MinMaxCollector(false, 0.01).result()).toMatchObject({ ok: false });
  });
});

describe('HistogramCollector', () => {
  it('merges batches exactly when the range doubles (same counts as one pass over all data)', () => {
    const a = normal(5000, 0.5);
    const b = normal(5000, 3);
    const stream = new HistogramCollector({ kind: 'percentile', percentile: 99 }, 64);
    stream.add(a);
    stream.add(b);
    const { counts, hi } = stream.snapshot();
    // Bin every value directly over the final range: the streamed counts must be identical.
    const direct = new Float64Array(64);
    for (const v of [...a, ...b]) direct[Math.min(63, Math.trunc(Math.fround(Math.fround(Math.abs(v)) * Math.fround(64 / hi))))]! += 1;
    let maxAbs = 0;
    for (const v of [...a, ...b]) maxAbs = Math.max(maxAbs, Math.abs(v));
    expect(hi).toBeGreaterThanOrEqual(maxAbs);
    expect(hi).toBeLessThan(maxAbs * 2 * 1.0001 + 1e-6);
    expect(counts.reduce((x, y) => x + y, 0)).toBe(10000);
    // Pairwise merging equals direct binning up to values on a bin edge of the first range.
    let moved = 0;
    for (let i = 0; i < 64; i++) moved += Math.abs((counts[i] as number) - (direct[i] as number));
    expect(moved).toBeLessThanOrEqual(4);
  });

  it('percentile keeps the given share of |x| and the sign of a one-sided tensor', () => {
    const relu = Float32Array.from(normal(20000), (v) => Math.max(0, v));
    const c = new HistogramCollector({ kind: 'percentile', percentile: 99 });
    c.add(relu);
    const r = c.result();
    if (!r.ok) throw new Error(r.reason);
    expect(r.range.min).toBe(0);
    // 99th percentile of |x| over half zeros, half |N(0,1)|: the 98th percentile of |N| ≈ 2.33.
    expect(r.range.max).toBeGreaterThan(2.1);
    expect(r.range.max).toBeLessThan(2.6);
  });

  it('entropy clips a Gaussian near 3-4 sigma and a ReLU output likewise (zeros do not pull it down)', () => {
    for (const make of [() => normal(100000), () => Float32Array.from(normal(100000), (v) => Math.max(0, v))]) {
      const c = new HistogramCollector({ kind: 'entropy', levels: 128 });
      c.add(make());
      const r = c.result();
      if (!r.ok) throw new Error(r.reason);
      expect(r.range.max).toBeGreaterThan(2.8);
      expect(r.range.max).toBeLessThan(4.5);
    }
  });

  it('an all-zero tensor gets the empty range', () => {
    const c = new HistogramCollector({ kind: 'entropy', levels: 128 });
    c.add(new Float32Array(100));
    expect(c.result()).toEqual({ ok: true, range: { min: 0, max: 0 } });
  });
});

describe('entropyThreshold', () => {
  it('keeps everything when fewer bins are occupied than levels', () => {
    const counts = new Float64Array(2048);
    counts.fill(5, 0, 100);
    expect(entropyThreshold(counts, 0.5, 128)).toBe(50);
  });
});
