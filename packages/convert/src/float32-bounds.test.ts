import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { float32AtLeast, float32AtMost } from './float32-bounds.js';

const MAX = 3.4028234663852886e38;

describe('float32AtMost / float32AtLeast', () => {
  it('keep thresholds that already are float32 values', () => {
    for (const t of [0, -0, 1, -1.5, 0.5, MAX, -MAX, 1.401298464324817e-45, Infinity, -Infinity]) {
      expect(float32AtMost(t)).toBe(t);
      expect(float32AtLeast(t)).toBe(t);
    }
  });

  it('round a double between two float32 values down and up, where Math.fround would round to nearest', () => {
    // 0.1 lies just below its nearest float32 (0.10000000149...), so fround moves the threshold above
    // 0.1 and x = fround(0.1) would go left under `x <= t` although 0.10000000149 > 0.1.
    expect(Math.fround(0.1)).toBeGreaterThan(0.1);
    expect(float32AtMost(0.1)).toBeLessThan(0.1);
    expect(float32AtMost(0.1)).toBe(Math.fround(0.09999999403953552));
    expect(float32AtLeast(0.1)).toBe(Math.fround(0.1));
    expect(float32AtMost(-1e-50)).toBe(-1.401298464324817e-45);
    expect(float32AtLeast(1e-50)).toBe(1.401298464324817e-45);
    expect(float32AtMost(1e300)).toBe(MAX);
    expect(float32AtLeast(-1e300)).toBe(-MAX);
    expect(float32AtLeast(1e300)).toBe(Infinity);
    expect(Number.isNaN(float32AtMost(NaN))).toBe(true);
  });

  test.prop([fc.double({ noNaN: true }), fc.float({ noNaN: true })])('x <= t ⟺ x <= float32AtMost(t) for every float32 x', (t, x) => {
    expect(x <= float32AtMost(t)).toBe(x <= t);
    expect(x < float32AtLeast(t)).toBe(x < t);
  });

  test.prop([fc.float({ noNaN: true, noDefaultInfinity: true })])('hold next to a float32 threshold, where the rounding matters', (f) => {
    // Doubles just above and below a float32 value, and the float32 neighbours around them.
    for (const t of [f + Math.abs(f) * 1e-9, f - Math.abs(f) * 1e-9, f]) {
      for (const x of [f, Math.fround(f * (1 + 2 ** -23)), Math.fround(f * (1 - 2 ** -23))]) {
        expect(x <= float32AtMost(t)).toBe(x <= t);
        expect(x < float32AtLeast(t)).toBe(x < t);
      }
    }
  });
});
