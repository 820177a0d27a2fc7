import { fc, test } from '@fast-check/vitest';
import { expect, it } from 'vitest';
import { ForgeError } from '../errors.js';
import { float16BitsToFloat32, float32ToFloat16Bits } from '../numeric/float16.js';
import { describeBackends } from './testing/describe-backends.js';
import { float32ToFloat16, float32ToFloat16WithStats } from './float32-to-float16.js';
import { CHUNK_ELEMENTS } from './kernel-memory.js';

const fromBits = (bits: readonly number[]): Float32Array => new Float32Array(Uint32Array.from(bits).buffer);
const bitsOf = (x: number): number => new Uint32Array(Float32Array.of(x).buffer)[0] as number;

/** Float32 bit patterns, weighted toward the cases that break converters. */
const f32Bits = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 0xffffffff }) },
  // Specials and boundaries: ±0, ±Inf, NaNs (quiet, signalling, payloads), 65504, 65520 (the tie that
  // rounds to Inf), 2^-24, 2^-25 (the tie that rounds to 0), smallest normal half, float32 subnormals.
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      0, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000, 0x7f800001, 0x7fbfffff, 0xffffffff,
      0x477fe000, 0x477fefff, 0x477ff000, 0x477ff001, 0x47800000, 0x33800000, 0x33000000, 0x33000001,
      0x32ffffff, 0x38800000, 0x387fe000, 0x387ff000, 0x00000001, 0x007fffff, 0x80000001,
    ),
  },
  // Exact ties between two float16 neighbours, normal range: the 13 dropped bits are 1000000000000.
  {
    weight: 2,
    arbitrary: fc
      .record({ sign: fc.boolean(), exp: fc.integer({ min: 113, max: 142 }), mant: fc.integer({ min: 0, max: 0x3ff }) })
      .map(({ sign, exp, mant }) => ((sign ? 0x80000000 : 0) | (exp << 23) | (mant << 13) | 0x1000) >>> 0),
  },
  // Values in the float16 subnormal range and just below it, including its ties.
  {
    weight: 2,
    arbitrary: fc
      .record({ sign: fc.boolean(), exp: fc.integer({ min: 100, max: 112 }), mant: fc.integer({ min: 0, max: 0x7fffff }), tie: fc.boolean() })
      .map(({ sign, exp, mant, tie }) => {
        // Force an exact tie at the float16 subnormal spacing (2^-24) where the exponent allows one.
        const shift = 126 - exp;
        const m = tie && shift < 23 ? (mant & ~((1 << shift) - 1)) | (1 << (shift - 1)) : mant;
        return ((sign ? 0x80000000 : 0) | (exp << 23) | m) >>> 0;
      }),
  },
);

/** Magnitudes that are normal in float16 (most weights), half of them exact ties. */
const normalHalfBits = fc
  .record({ sign: fc.boolean(), exp: fc.integer({ min: 113, max: 142 }), mant: fc.integer({ min: 0, max: 0x7fffff }), tie: fc.boolean() })
  .map(({ sign, exp, mant, tie }) => ((sign ? 0x80000000 : 0) | (exp << 23) | (tie ? (mant & ~0x1fff) | 0x1000 : mant)) >>> 0);

/**
 * Lengths that cover empty, shorter than a vector, and SIMD bodies with every tail length; half the
 * arrays are weight-like (blocks of normal values take the kernel's fast path), with rare outliers.
 */
const bitArrays = fc.oneof(
  fc.array(f32Bits, { maxLength: 67, size: 'max' }),
  fc.array(fc.oneof({ weight: 40, arbitrary: normalHalfBits }, { weight: 1, arbitrary: f32Bits }), { maxLength: 67, size: 'max' }),
);

describeBackends('float32ToFloat16', () => {
  test.prop([bitArrays], { numRuns: 300 })('is bit-exact with float32ToFloat16Bits without clamping', (bits) => {
    const src = fromBits(bits);
    const out = float32ToFloat16(src, undefined, { clamp: false });
    expect(Array.from(out)).toEqual(Array.from(src, float32ToFloat16Bits));
  });

  test.prop([bitArrays], { numRuns: 300 })('clamps to ±65504 and flushes below 2^-24 to ±0 by default, counting', (bits) => {
    const src = fromBits(bits);
    const { out, clampedHigh, clampedLow, nan, inf } = float32ToFloat16WithStats(src);
    const expected = { high: 0, low: 0, nan: 0, inf: 0 };
    const want = Array.from(src, (x) => {
      const a = Math.abs(x);
      const sign = bitsOf(x) >>> 31 ? 0x8000 : 0;
      if (Number.isNaN(x)) expected.nan++;
      else if (a === Infinity) expected.inf++;
      else if (a > 65504) {
        expected.high++;
        return sign | 0x7bff;
      } else if (a !== 0 && a < 2 ** -24) {
        expected.low++;
        return sign;
      }
      return float32ToFloat16Bits(x);
    });
    expect(Array.from(out)).toEqual(want);
    expect({ high: clampedHigh, low: clampedLow, nan, inf }).toEqual(expected);
  });

  // Limits from 1e-7 to 65504 put minPositive and maxFinite on either side of the smallest normal
  // float16 (2^-14), and often off the float32 grid.
  const limits = fc
    .tuple(fc.double({ min: 1e-7, max: 65504, noNaN: true }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }))
    .map(([maxFinite, fraction]) => ({ maxFinite, minPositive: maxFinite * fraction }));

  test.prop([bitArrays, limits], { numRuns: 300 })('honours custom limits given as doubles, compared exactly', (bits, { maxFinite, minPositive }) => {
    const src = fromBits(bits);
    const out = float32ToFloat16(src, undefined, { maxFinite, minPositive });
    const maxHalf = float32ToFloat16Bits(maxFinite);
    const want = Array.from(src, (x) => {
      const a = Math.abs(x);
      const sign = bitsOf(x) >>> 31 ? 0x8000 : 0;
      if (a > maxFinite && a < Infinity) return sign | maxHalf;
      if (a !== 0 && a < minPositive) return sign;
      return float32ToFloat16Bits(x);
    });
    expect(Array.from(out)).toEqual(want);
  });

  it('keeps NaN, ±Inf and signed zeros', () => {
    const out = float32ToFloat16(Float32Array.of(NaN, Infinity, -Infinity, 0, -0, 1e6, -1e6, 1e-30, -1e-30));
    expect(Number.isNaN(float16BitsToFloat32(out[0] as number))).toBe(true);
    expect(Array.from(out.subarray(1))).toEqual([0x7c00, 0xfc00, 0x0000, 0x8000, 0x7bff, 0xfbff, 0x0000, 0x8000]);
    const raw = float32ToFloat16(Float32Array.of(1e6, -1e6, 65520, 1e-30), undefined, { clamp: false });
    expect(Array.from(raw)).toEqual([0x7c00, 0xfc00, 0x7c00, 0x0000]);
  });

  it('converts arrays spanning several chunks, into a caller-provided array', () => {
    const n = 3 * CHUNK_ELEMENTS + 13;
    const bits = new Uint32Array(n);
    let seed = 12345;
    for (let i = 0; i < n; i++) bits[i] = seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    const src = new Float32Array(bits.buffer);
    const dst = new Uint16Array(n);
    const { out, nan } = float32ToFloat16WithStats(src, dst, { clamp: false });
    expect(out).toBe(dst);
    let mismatches = 0;
    let nans = 0;
    for (let i = 0; i < n; i++) {
      if (out[i] !== float32ToFloat16Bits(src[i] as number)) mismatches++;
      if (Number.isNaN(src[i])) nans++;
    }
    expect(mismatches).toBe(0);
    expect(nan).toBe(nans);
  });

  it('rejects a wrong-sized dst and bad limits with FORGE_INVALID_OPTIONS', () => {
    const src = new Float32Array(4);
    expect(() => float32ToFloat16(src, new Uint16Array(3))).toThrow(ForgeError);
    expect(() => float32ToFloat16(src, undefined, { maxFinite: 70000 })).toThrow(/maxFinite/);
    expect(() => float32ToFloat16(src, undefined, { minPositive: -1 })).toThrow(/minPositive/);
    expect(() => float32ToFloat16(src, undefined, { maxFinite: 1, minPositive: 2 })).toThrow(/minPositive/);
  });
});
