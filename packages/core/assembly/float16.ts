// float32 <-> float16 conversion, round to nearest even, NaN payloads and signed zeros kept.
// The float32 -> float16 direction follows the branch-free method popularised by Fabian Giesen
// ("float_to_half_fast3_rtne"): normal values round with an integer add, subnormal results come out
// of one float add whose own rounding is exactly the float16 rounding, and a select picks the path.
// Results must be bit-identical to float32ToFloat16Bits in src/numeric/float16.ts.

const INF_BITS: i32 = 0x7f800000;
/** |x| at or above 2^16 is Inf in float16 whatever the rounding. */
const OVERFLOW_BITS: i32 = 143 << 23;
/** Smallest normal float16, 2^-14: below it the result is subnormal. */
const MIN_NORMAL_BITS: i32 = 113 << 23;
/** 0.5f: adding it to |x| < 2^-14 leaves the float16 subnormal mantissa, rounded, in the low bits. */
const DENORM_MAGIC_BITS: i32 = 126 << 23;
/** Rebias the exponent from 127 to 15 and add just under half an ulp of float16. */
const NORMAL_BIAS: i32 = ((15 - 127) << 23) + 0xfff;

// @ts-ignore: decorator
@inline
function halfBits4(a: v128): v128 {
  const mantOdd = v128.and(i32x4.shr_u(a, 13), i32x4.splat(1));
  const normal = i32x4.shr_u(i32x4.add(i32x4.add(a, i32x4.splat(NORMAL_BIAS)), mantOdd), 13);
  const sub = i32x4.sub(f32x4.add(a, i32x4.splat(DENORM_MAGIC_BITS)), i32x4.splat(DENORM_MAGIC_BITS));
  const nan = v128.or(i32x4.splat(0x7e00), v128.and(i32x4.shr_u(a, 13), i32x4.splat(0x3ff)));
  const special = v128.bitselect(nan, i32x4.splat(0x7c00), i32x4.gt_s(a, i32x4.splat(INF_BITS)));
  const r = v128.bitselect(sub, normal, i32x4.lt_s(a, i32x4.splat(MIN_NORMAL_BITS)));
  return v128.bitselect(special, r, i32x4.ge_s(a, i32x4.splat(OVERFLOW_BITS)));
}

// @ts-ignore: decorator
@inline
function halfBits(a: i32): i32 {
  if (a >= OVERFLOW_BITS) return a > INF_BITS ? 0x7e00 | ((a >>> 13) & 0x3ff) : 0x7c00;
  if (a < MIN_NORMAL_BITS) return reinterpret<i32>(reinterpret<f32>(a) + reinterpret<f32>(DENORM_MAGIC_BITS)) - DENORM_MAGIC_BITS;
  return (a + NORMAL_BIAS + ((a >>> 13) & 1)) >>> 13;
}

/**
 * Converts n float32 at src to float16 bits at dst. Magnitudes above maxBits (finite) and nonzero
 * magnitudes below minBits are counted, and replaced by maxHalf / zero (sign kept) when clamp is set.
 * Writes the counts [high, low, nan, inf] as i32 at stats.
 */
export function f32_to_f16(
  src: usize,
  dst: usize,
  n: i32,
  clamp: i32,
  maxBits: i32,
  minBits: i32,
  maxHalf: i32,
  stats: usize,
): void {
  const apply = i32x4.splat(clamp ? -1 : 0);
  const maxV = i32x4.splat(maxBits);
  const minV = i32x4.splat(minBits);
  const infV = i32x4.splat(INF_BITS);
  const maxHalfV = i32x4.splat(maxHalf);
  const signV = i32x4.splat(0x80000000);
  const zero = i32x4.splat(0);
  let accHigh = zero;
  let accLow = zero;
  let accNan = zero;
  let accInf = zero;
  // Fast path: magnitudes in [max(2^-14, minPositive), min(maxFinite, 65504)] (normal in float16,
  // never clamped, not counted) need only the integer rounding. Weights are almost all there, so one
  // unsigned compare per vector decides, and blocks with any other lane take the full path below.
  const lower = max(MIN_NORMAL_BITS, minBits);
  const upper = min(maxBits, OVERFLOW_BITS - 1);
  const fast = upper >= lower;
  const fastLo = i32x4.splat(lower);
  const fastSpan = i32x4.splat(upper - lower);
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const p = src + ((<usize>i) << 2);
    const x0 = v128.load(p);
    const x1 = v128.load(p, 16);
    const s0 = v128.and(x0, signV);
    const s1 = v128.and(x1, signV);
    const a0 = v128.xor(x0, s0);
    const a1 = v128.xor(x1, s1);
    const out = v128.or(i32x4.gt_u(i32x4.sub(a0, fastLo), fastSpan), i32x4.gt_u(i32x4.sub(a1, fastLo), fastSpan));
    if (fast && !v128.any_true(out)) {
      const n0 = i32x4.shr_u(i32x4.add(i32x4.add(a0, i32x4.splat(NORMAL_BIAS)), v128.and(i32x4.shr_u(a0, 13), i32x4.splat(1))), 13);
      const n1 = i32x4.shr_u(i32x4.add(i32x4.add(a1, i32x4.splat(NORMAL_BIAS)), v128.and(i32x4.shr_u(a1, 13), i32x4.splat(1))), 13);
      v128.store(dst + ((<usize>i) << 1), i16x8.narrow_i32x4_u(v128.or(n0, i32x4.shr_u(s0, 16)), v128.or(n1, i32x4.shr_u(s1, 16))));
      continue;
    }
    const hi0 = v128.and(i32x4.gt_s(a0, maxV), i32x4.lt_s(a0, infV));
    const hi1 = v128.and(i32x4.gt_s(a1, maxV), i32x4.lt_s(a1, infV));
    const lo0 = v128.and(i32x4.lt_s(a0, minV), i32x4.ne(a0, zero));
    const lo1 = v128.and(i32x4.lt_s(a1, minV), i32x4.ne(a1, zero));
    accHigh = i32x4.sub(i32x4.sub(accHigh, hi0), hi1);
    accLow = i32x4.sub(i32x4.sub(accLow, lo0), lo1);
    accNan = i32x4.sub(i32x4.sub(accNan, i32x4.gt_s(a0, infV)), i32x4.gt_s(a1, infV));
    accInf = i32x4.sub(i32x4.sub(accInf, i32x4.eq(a0, infV)), i32x4.eq(a1, infV));
    let r0 = v128.bitselect(maxHalfV, halfBits4(a0), v128.and(hi0, apply));
    let r1 = v128.bitselect(maxHalfV, halfBits4(a1), v128.and(hi1, apply));
    r0 = v128.or(v128.andnot(r0, v128.and(lo0, apply)), i32x4.shr_u(s0, 16));
    r1 = v128.or(v128.andnot(r1, v128.and(lo1, apply)), i32x4.shr_u(s1, 16));
    v128.store(dst + ((<usize>i) << 1), i16x8.narrow_i32x4_u(r0, r1));
  }
  let high = sum4(accHigh);
  let low = sum4(accLow);
  let nan = sum4(accNan);
  let inf = sum4(accInf);
  for (; i < n; i++) {
    const x = load<i32>(src + ((<usize>i) << 2));
    const sign = (x >>> 16) & 0x8000;
    const a = x & 0x7fffffff;
    let h = halfBits(a);
    if (a > maxBits && a < INF_BITS) {
      high++;
      if (clamp) h = maxHalf;
    } else if (a < minBits && a != 0) {
      low++;
      if (clamp) h = 0;
    } else if (a > INF_BITS) {
      nan++;
    } else if (a == INF_BITS) {
      inf++;
    }
    store<u16>(dst + ((<usize>i) << 1), <u16>(h | sign));
  }
  store<i32>(stats, high);
  store<i32>(stats, low, 4);
  store<i32>(stats, nan, 8);
  store<i32>(stats, inf, 12);
}

// @ts-ignore: decorator
@inline
function sum4(v: v128): i32 {
  return i32x4.extract_lane(v, 0) + i32x4.extract_lane(v, 1) + i32x4.extract_lane(v, 2) + i32x4.extract_lane(v, 3);
}

// @ts-ignore: decorator
@inline
function floatBits4(h: v128): v128 {
  const sign = i32x4.shl(v128.and(h, i32x4.splat(0x8000)), 16);
  const em = v128.and(h, i32x4.splat(0x7fff));
  const rebias = i32x4.splat(112 << 23);
  let o = i32x4.add(i32x4.shl(em, 13), rebias);
  // Inf and NaN: push the exponent the rest of the way to 255.
  o = i32x4.add(o, v128.and(i32x4.ge_s(em, i32x4.splat(0x7c00)), rebias));
  // Subnormal: build 2^-14 * (1 + m/1024) and subtract 2^-14, which is exact.
  const sub = f32x4.sub(i32x4.add(o, i32x4.splat(1 << 23)), i32x4.splat(113 << 23));
  o = v128.bitselect(sub, o, i32x4.lt_s(em, i32x4.splat(0x400)));
  return v128.or(o, sign);
}

// @ts-ignore: decorator
@inline
function normalFloatBits4(h: v128): v128 {
  const sign = i32x4.shl(v128.and(h, i32x4.splat(0x8000)), 16);
  return v128.or(i32x4.add(i32x4.shl(v128.and(h, i32x4.splat(0x7fff)), 13), i32x4.splat(112 << 23)), sign);
}

// @ts-ignore: decorator
@inline
function floatBits(h: i32): i32 {
  const sign = (h & 0x8000) << 16;
  const em = h & 0x7fff;
  let o = (em << 13) + (112 << 23);
  if (em >= 0x7c00) o += 112 << 23;
  else if (em < 0x400) o = reinterpret<i32>(reinterpret<f32>(o + (1 << 23)) - reinterpret<f32>(113 << 23));
  return o | sign;
}

/** Converts n float16 bit patterns at src to float32 at dst (exact; NaN payloads kept). */
export function f16_to_f32(src: usize, dst: usize, n: i32): void {
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const h = v128.load(src + ((<usize>i) << 1));
    const p = dst + ((<usize>i) << 2);
    // Fast path for 8 normal halves (exponent 1 to 30): rebias the exponent, nothing else.
    const unusual = i16x8.gt_u(i16x8.sub(v128.and(h, i16x8.splat(0x7fff)), i16x8.splat(0x400)), i16x8.splat(0x7c00 - 0x400 - 1));
    if (!v128.any_true(unusual)) {
      v128.store(p, normalFloatBits4(i32x4.extend_low_i16x8_u(h)));
      v128.store(p, normalFloatBits4(i32x4.extend_high_i16x8_u(h)), 16);
      continue;
    }
    v128.store(p, floatBits4(i32x4.extend_low_i16x8_u(h)));
    v128.store(p, floatBits4(i32x4.extend_high_i16x8_u(h)), 16);
  }
  for (; i < n; i++) {
    store<i32>(dst + ((<usize>i) << 2), floatBits(<i32>load<u16>(src + ((<usize>i) << 1))));
  }
}
