import { fc, test } from '@fast-check/vitest';
import { expect, it } from 'vitest';
import { ForgeError } from '../errors.js';
import { describeBackends } from './testing/describe-backends.js';
import { histogram } from './histogram.js';
import { CHUNK_ELEMENTS } from './kernel-memory.js';
import { float32Value } from './testing/axis-arbitraries.js';

/** The documented bin rule, computed in float32: trunc((x - lo) * (bins / (hi - lo))), clamped. */
function reference(src: Float32Array, nbins: number, lo: number, hi: number, abs: boolean): number[] {
  const counts = new Array<number>(nbins).fill(0);
  const inv = Math.fround(nbins / (hi - lo));
  for (const raw of src) {
    if (Number.isNaN(raw)) continue;
    const x = abs ? Math.abs(raw) : raw;
    const t = Math.fround(Math.fround(x - Math.fround(lo)) * inv);
    const b = Math.min(Math.max(Number.isNaN(t) ? 0 : Math.trunc(t), 0), nbins - 1);
    counts[b] = (counts[b] as number) + 1;
  }
  return counts;
}

const range = fc
  .tuple(fc.double({ min: -1000, max: 1000, noNaN: true }), fc.double({ min: 1e-3, max: 2000, noNaN: true }))
  .map(([lo, width]) => ({ lo, hi: lo + width }));

describeBackends('histogram', () => {
  test.prop([fc.array(float32Value, { maxLength: 300, size: 'max' }), fc.integer({ min: 1, max: 40 }), range, fc.boolean()], { numRuns: 300 })(
    'counts every non-NaN value in its bin, out-of-range values in the edge bins',
    (xs, nbins, { lo, hi }, abs) => {
      const src = Float32Array.from(xs);
      const bins = new Float64Array(nbins);
      histogram(src, bins, lo, hi, { abs });
      expect(Array.from(bins)).toEqual(reference(src, nbins, lo, hi, abs));
      expect(bins.reduce((a, b) => a + b, 0)).toBe(xs.filter((x) => !Number.isNaN(x)).length);
    },
  );

  it('puts exact values where expected, hi in the last bin, and accumulates across calls', () => {
    const bins = new Float64Array(4);
    histogram(Float32Array.of(0, 0.25, 0.5, 0.75, 1, -3, 7, NaN), bins, 0, 1);
    expect(Array.from(bins)).toEqual([2, 1, 1, 3]);
    histogram(Float32Array.of(-0.5, 0.1), bins, 0, 1, { abs: true });
    expect(Array.from(bins)).toEqual([3, 1, 2, 3]);
  });

  it('counts large arrays with many bins (four count tables, several chunks)', () => {
    const n = 3 * CHUNK_ELEMENTS + 7;
    const src = new Float32Array(n).map((_, i) => Math.sin(i) * 10);
    src[5] = NaN;
    const bins = new Float64Array(2048);
    histogram(src, bins, -8, 8, { abs: false });
    expect(Array.from(bins)).toEqual(reference(src, 2048, -8, 8, false));
  });

  it('rejects an empty bin array and a bad range', () => {
    expect(() => histogram(new Float32Array(3), new Float64Array(0), 0, 1)).toThrow(ForgeError);
    expect(() => histogram(new Float32Array(3), new Float64Array(4), 1, 1)).toThrow(/lo < hi/);
    expect(() => histogram(new Float32Array(3), new Float64Array(4), 0, Infinity)).toThrow(/lo < hi/);
  });
});
