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

  it('gives the median of the most recent samples and a standard error that one outlier barely moves', () => {
    const w = new LatencyWindow(64);
    for (let i = 0; i < 32; i++) w.add(10 + (i % 4));
    const clean = w.recent(32);
    expect(clean).toMatchObject({ n: 32, median: 11.5 });
    // σ from the IQR (10.75 to 12.25 here): 1.5 / 1.349; se = 1.2533 σ / √32.
    expect(clean.se).toBeCloseTo((1.2533 * (1.5 / 1.349)) / Math.sqrt(32), 10);
    // The same next call, once typical (13 ms) and once preempted (500 ms): the same median and se.
    const typical = new LatencyWindow(64);
    const spiked = new LatencyWindow(64);
    for (let i = 0; i < 32; i++) for (const x of [typical, spiked]) x.add(10 + (i % 4));
    typical.add(13);
    spiked.add(500);
    expect(spiked.recent(32)).toEqual(typical.recent(32));
    expect(new LatencyWindow(4).recent(3)).toMatchObject({ n: 0, se: Number.POSITIVE_INFINITY });
  });
});
