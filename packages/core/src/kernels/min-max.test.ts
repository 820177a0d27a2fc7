import { fc, test } from '@fast-check/vitest';
import { expect, it } from 'vitest';
import { describeBackends } from './testing/describe-backends.js';
import { CHUNK_ELEMENTS } from './kernel-memory.js';
import { minMax } from './min-max.js';

const values = fc.array(
  fc.oneof(
    { weight: 8, arbitrary: fc.float({ noNaN: true }) },
    { weight: 1, arbitrary: fc.constantFrom(NaN, Infinity, -Infinity, 0, -0) },
  ),
  { maxLength: 70, size: 'max' },
);

function reference(xs: Iterable<number>): { min: number; max: number; nanCount: number } {
  let min = Infinity;
  let max = -Infinity;
  let nanCount = 0;
  for (const x of xs) {
    if (Number.isNaN(x)) nanCount++;
    else {
      min = Math.min(min, x);
      max = Math.max(max, x);
    }
  }
  return { min, max, nanCount };
}

describeBackends('minMax', () => {
  test.prop([values], { numRuns: 300 })('equals a plain reduction with NaN ignored and counted', (xs) => {
    const got = minMax(Float32Array.from(xs));
    const want = reference(Float32Array.from(xs));
    // -0 and 0 tie: either may be reported.
    expect(got.min === want.min && got.max === want.max && got.nanCount === want.nanCount, JSON.stringify({ got, want })).toBe(true);
  });

  it('reports +Inf/-Inf for an empty or all-NaN array', () => {
    expect(minMax(new Float32Array(0))).toEqual({ min: Infinity, max: -Infinity, nanCount: 0 });
    expect(minMax(Float32Array.of(NaN, NaN, NaN, NaN, NaN, NaN, NaN, NaN, NaN))).toEqual({ min: Infinity, max: -Infinity, nanCount: 9 });
  });

  it('finds extremes anywhere in a multi-chunk array', () => {
    const n = 2 * CHUNK_ELEMENTS + 5;
    const src = new Float32Array(n).map((_, i) => Math.sin(i));
    src[CHUNK_ELEMENTS + 3] = -7;
    src[n - 1] = 9;
    src[17] = NaN;
    expect(minMax(src)).toEqual({ min: -7, max: 9, nanCount: 1 });
  });
});
