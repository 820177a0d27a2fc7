import { fc, test } from '@fast-check/vitest';
import { DataType, FLOAT16_MAX, FLOAT16_MIN_SUBNORMAL, createTensor, float32ToFloat16Bits } from '@onnx-forge/core';
import { describe, expect } from 'vitest';
import { tensorToFloat16, toFloat16 } from './float16-data.js';

/** The clamping rule stated plainly, value by value, on top of core's scalar rounding. */
function reference(x: number, maxFinite: number, minPositive: number): number {
  const sign = Object.is(x, -0) || x < 0 ? 0x8000 : 0;
  const a = Math.abs(x);
  if (Number.isNaN(x)) return float32ToFloat16Bits(x);
  if (a !== Infinity && a > maxFinite) return sign | float32ToFloat16Bits(maxFinite);
  if (a !== 0 && a < minPositive) return sign | float32ToFloat16Bits(minPositive);
  return float32ToFloat16Bits(x);
}

const isNaNHalf = (h: number) => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;

describe('toFloat16', () => {
  const limits = fc.record({
    maxFinite: fc.constantFrom(FLOAT16_MAX, 1e4, 300),
    minPositive: fc.constantFrom(FLOAT16_MIN_SUBNORMAL, 1e-7, 1e-4),
  });
  const values = fc.array(fc.oneof(fc.float(), fc.constantFrom(0, -0, NaN, Infinity, -Infinity, 65504, 65520, 1e-8, -1e-12, 2 ** -25)), { minLength: 1, maxLength: 300 });

  test.prop([values, limits])('clamps as stated, keeping sign, zero, NaN and Inf', (xs, { maxFinite, minPositive }) => {
    const src = Float32Array.from(xs);
    const r = toFloat16(src, { clamp: true, maxFinite, minPositive });
    for (let i = 0; i < src.length; i++) {
      const want = reference(src[i] as number, maxFinite, minPositive);
      const got = r.data[i] as number;
      if (isNaNHalf(want)) expect(isNaNHalf(got)).toBe(true);
      else expect(got, `value ${src[i]}`).toBe(want);
    }
  });

  test.prop([values])('without clamping, rounds like the scalar conversion', (xs) => {
    const src = Float32Array.from(xs);
    const r = toFloat16(src, { clamp: false, maxFinite: FLOAT16_MAX, minPositive: FLOAT16_MIN_SUBNORMAL });
    for (let i = 0; i < src.length; i++) {
      const want = float32ToFloat16Bits(src[i] as number);
      if (isNaNHalf(want)) expect(isNaNHalf(r.data[i] as number)).toBe(true);
      else expect(r.data[i]).toBe(want);
    }
    expect(r.clampedHigh + r.clampedLow).toBe(0);
  });

  test.prop([values, fc.integer({ min: 1, max: 3 })])('converts unaligned raw data like aligned data', (xs, shift) => {
    const src = Float32Array.from(xs);
    const aligned = createTensor('a', DataType.FLOAT, [src.length], src);
    const unaligned = createTensor('u', DataType.FLOAT, [src.length], src);
    const raw = new Uint8Array(src.byteLength + shift);
    raw.set(new Uint8Array(src.buffer), shift);
    unaligned.rawData = raw.subarray(shift);
    const lim = { clamp: true, maxFinite: FLOAT16_MAX, minPositive: FLOAT16_MIN_SUBNORMAL };
    expect(Array.from(tensorToFloat16(unaligned, lim).data)).toEqual(Array.from(tensorToFloat16(aligned, lim).data));
  });
});
