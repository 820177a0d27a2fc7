import { describe, expect, it } from 'vitest';
import { bestOf, type BatchPoint } from './batch-sweep.js';

const point = (batch: number, perSampleMs: number, lo: number, hi: number): BatchPoint => ({
  batch, perSampleMs, perSampleCi95: [lo, hi], samplesPerSecond: 1000 / perSampleMs,
  latency: {} as BatchPoint['latency'],
});

describe('the lowest per-sample batch size', () => {
  it('is named only when its interval lies below every other size\'s', () => {
    const best = bestOf({
      // 32 is provably lowest.
      clear: [point(1, 2, 1.9, 2.1), point(8, 1, 0.95, 1.05), point(32, 0.5, 0.45, 0.55)],
      // 1 has the lowest median, but its interval overlaps 32's (the audit's case): no winner.
      overlapping: [point(1, 1.419, 1.078, 9.183), point(32, 1.618, 1.285, 1.958)],
    });
    expect(best).toEqual({ clear: 32 });
  });

  it('is not named from fewer than 6 runs per size, however far apart the intervals', () => {
    const runs = (n: number, p: BatchPoint): BatchPoint => ({ ...p, latency: { n } as BatchPoint['latency'] });
    const sizes = (n: number) => [runs(n, point(1, 2, 1.9, 2.1)), runs(n, point(32, 0.5, 0.45, 0.55))];
    expect(bestOf({ few: sizes(3), enough: sizes(6) })).toEqual({ enough: 32 });
  });
});
