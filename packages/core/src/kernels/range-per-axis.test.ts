import { test } from '@fast-check/vitest';
import { expect, it } from 'vitest';
import { ForgeError } from '../errors.js';
import { MAX_ROW } from './axis-layout.js';
import { describeBackends } from './testing/describe-backends.js';
import { rangePerAxis } from './range-per-axis.js';
import { axisCase, channelOf, float32Array } from './testing/axis-arbitraries.js';

function reference(src: Float32Array, dims: number[], axis: number): { min: number[]; max: number[] } {
  const channels = dims[axis < 0 ? axis + dims.length : axis] as number;
  const min = new Array<number>(channels).fill(Infinity);
  const max = new Array<number>(channels).fill(-Infinity);
  const channel = channelOf(dims, axis);
  src.forEach((x, i) => {
    const c = channel(i);
    if (x < (min[c] as number)) min[c] = x;
    if (x > (max[c] as number)) max[c] = x;
  });
  return { min, max };
}

function expectRange(src: Float32Array, dims: number[], axis: number): void {
  const got = rangePerAxis(src, dims, axis);
  const want = reference(src, dims, axis);
  // == rather than Object.is: -0 and 0 tie for min and max.
  expect(Array.from(got.min).every((v, c) => v === want.min[c]), 'min').toBe(true);
  expect(Array.from(got.max).every((v, c) => v === want.max[c]), 'max').toBe(true);
  expect(got.min.length).toBe(want.min.length);
}

const tensorCase = axisCase.chain(({ dims, axis }) =>
  float32Array(dims.reduce((a, b) => a * b, 1)).map((src) => ({ dims, axis, src })),
);

describeBackends('rangePerAxis', () => {
  test.prop([tensorCase], { numRuns: 150 })('equals a per-channel reduction for any shape and axis', ({ dims, axis, src }) => {
    expectRange(src, dims, axis);
  });

  it('handles Conv (axis 0) and MatMul (axis 1) weights across chunk boundaries', () => {
    const cases: [number[], number][] = [
      [[37, 3, 7, 7], 0], // runs of 147 values
      [[768, 771], 1], // MatMul: runs of 1, rows of 771 that straddle chunks
      [[3, 70001], 1], // a row longer than a chunk
      [[2, 5, 50001], 1], // runs longer than a chunk
      [[100003, 3], -1],
      [[2, MAX_ROW + 3], 1], // too many positions for row-wise accumulators: run-wise kernel
    ];
    for (const [dims, axis] of cases) {
      const n = dims.reduce((a, b) => a * b, 1);
      const src = new Float32Array(n).map((_, i) => Math.sin(i * 0.37) * (1 + (i % 13)));
      src[n >> 1] = NaN;
      expectRange(src, dims, axis);
    }
  });

  it('reports +Inf/-Inf for channels with no value', () => {
    const got = rangePerAxis(Float32Array.of(NaN, 1, NaN, 2), [2, 2], 1);
    expect(Array.from(got.min)).toEqual([Infinity, 1]);
    expect(Array.from(got.max)).toEqual([-Infinity, 2]);
  });

  it('rejects dims that do not match and axes out of range', () => {
    expect(() => rangePerAxis(new Float32Array(6), [2, 2], 0)).toThrow(ForgeError);
    expect(() => rangePerAxis(new Float32Array(6), [2, 3], 2)).toThrow(/axis 2/);
    expect(() => rangePerAxis(new Float32Array(6), [2, 3], -3)).toThrow(/axis -3/);
    expect(() => rangePerAxis(new Float32Array(6), [2, 3.5], 0)).toThrow(/non-negative integers/);
  });
});
