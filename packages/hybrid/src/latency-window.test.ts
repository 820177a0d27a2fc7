import { describe, expect, it } from 'vitest';
import { LatencyWindow } from './latency-window.js';

describe('LatencyWindow', () => {
  it('keeps only the last `capacity` samples and gives interpolated quantiles over them', () => {
    const w = new LatencyWindow(100);
    for (let i = 1; i <= 1000; i++) w.add(i);
    expect(w.count).toBe(100);
    expect(w.quantile(0)).toBe(901);
    expect(w.quantile(1)).toBe(1000);
    expect(w.quantile(0.5)).toBe(950.5);
    expect(w.quantile(0.99)).toBeCloseTo(999.01, 10);
  });

  it('gives the mean and standard error of the most recent samples', () => {
    const w = new LatencyWindow(8);
    for (const v of [100, 100, 1, 2, 3, 4]) w.add(v);
    const r = w.recent(4);
    expect(r.n).toBe(4);
    expect(r.mean).toBe(2.5);
    expect(r.se).toBeCloseTo(Math.sqrt(((1.5 ** 2 + 0.5 ** 2) * 2) / 3 / 4), 12);
    expect(new LatencyWindow(4).recent(3)).toMatchObject({ n: 0, se: Number.POSITIVE_INFINITY });
  });
});
