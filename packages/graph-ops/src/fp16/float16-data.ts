import { float32ToFloat16Bits } from '@onnx-forge/core';

export interface ClampLimits {
  /** Clamp finite values to ±maxFinite and non-zero values to at least ±minPositive. */
  clamp: boolean;
  maxFinite: number;
  minPositive: number;
}

export interface Float16Result {
  data: Uint16Array;
  /** Finite values whose magnitude was above maxFinite (set to ±maxFinite). */
  clampedHigh: number;
  /** Non-zero values whose magnitude was below minPositive (set to ±minPositive). */
  clampedLow: number;
}

/**
 * float32 → float16 bits with optional clamping that keeps sign, zero, NaN and infinities. The one
 * place bulk conversion happens, so the SIMD kernels of core replace this loop in one edit.
 */
export function toFloat16(src: Float32Array, limits: ClampLimits, dst = new Uint16Array(src.length)): Float16Result {
  const { maxFinite, minPositive } = limits;
  let clampedHigh = 0;
  let clampedLow = 0;
  if (!limits.clamp) {
    for (let i = 0; i < src.length; i++) dst[i] = float32ToFloat16Bits(src[i] as number);
    return { data: dst, clampedHigh, clampedLow };
  }
  const hiBits = float32ToFloat16Bits(maxFinite);
  const loBits = float32ToFloat16Bits(minPositive);
  for (let i = 0; i < src.length; i++) {
    const x = src[i] as number;
    const a = Math.abs(x);
    if (a > maxFinite && a !== Infinity) {
      dst[i] = (x < 0 ? 0x8000 : 0) | hiBits;
      clampedHigh++;
    } else if (a < minPositive && a !== 0) {
      dst[i] = (x < 0 ? 0x8000 : 0) | loBits;
      clampedLow++;
    } else {
      dst[i] = float32ToFloat16Bits(x);
    }
  }
  return { data: dst, clampedHigh, clampedLow };
}

/** One value, clamped the same way (attributes such as Constant value_float). */
export function toFloat16Scalar(x: number, limits: ClampLimits): number {
  return toFloat16(Float32Array.of(x), limits).data[0] as number;
}
