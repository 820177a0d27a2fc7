// Test helper: fast-check arbitraries for tensors with per-axis layouts. Not exported from the package.
import { fc } from '@fast-check/vitest';

export interface AxisCase {
  dims: number[];
  axis: number;
}

/**
 * Shapes of rank 1 to 4 with odd sizes, and an axis (sometimes negative). Sizes from 0 to 40 make
 * both inner runs shorter than a vector (row-wise kernels with SIMD tails) and runs of 16 and more
 * (run-wise kernels) appear; the product stays small enough for hundreds of runs.
 */
export const axisCase: fc.Arbitrary<AxisCase> = fc
  .array(fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 9 }) }, { weight: 3, arbitrary: fc.integer({ min: 10, max: 40 }) }, { weight: 1, arbitrary: fc.constant(0) }), {
    minLength: 1,
    maxLength: 4,
    size: 'max',
  })
  .filter((dims) => dims.reduce((a, b) => a * b, 1) <= 20000)
  .chain((dims) => fc.record({ dims: fc.constant(dims), axis: fc.integer({ min: -dims.length, max: dims.length - 1 }) }));

/** Float32 values with occasional NaN, ±Inf and ±0. */
export const float32Value = fc.oneof(
  { weight: 20, arbitrary: fc.float({ noNaN: true, noDefaultInfinity: true }) },
  { weight: 20, arbitrary: fc.float({ min: -300, max: 300, noNaN: true }) },
  { weight: 1, arbitrary: fc.constantFrom(NaN, Infinity, -Infinity, 0, -0) },
);

export function float32Array(length: number): fc.Arbitrary<Float32Array> {
  return fc.array(float32Value, { minLength: length, maxLength: length }).map((xs) => Float32Array.from(xs));
}

/** Channel of element i for a layout split around `axis`. */
export function channelOf(dims: readonly number[], axis: number): (i: number) => number {
  const a = axis < 0 ? axis + dims.length : axis;
  const inner = dims.slice(a + 1).reduce((x, y) => x * y, 1);
  const channels = dims[a] as number;
  return (i) => Math.floor(i / inner) % channels;
}
