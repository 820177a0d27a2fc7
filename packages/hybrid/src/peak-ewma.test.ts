import { describe, expect, it } from 'vitest';
import { PeakEwma } from './peak-ewma.js';

describe('PeakEwma', () => {
  it('jumps up to a slower sample at once and decays toward faster ones with time constant tau', () => {
    const e = new PeakEwma(1000);
    e.observe(10, 0);
    e.observe(50, 10);
    expect(e.get()).toBe(50);
    // One tau later a 10 ms sample pulls it 1 - 1/e of the way down.
    e.observe(10, 1010);
    expect(e.get()).toBeCloseTo(10 + 40 / Math.E, 10);
    // Samples at the same instant carry no weight downward (no time has passed).
    e.observe(1, 1010);
    expect(e.get()).toBeCloseTo(10 + 40 / Math.E, 10);
    // Long after, it is the sample.
    e.observe(10, 1_000_000);
    expect(e.get()).toBeCloseTo(10, 10);
  });
});

