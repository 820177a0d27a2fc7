/**
 * The bulk loops of quantization in one place, so the passes never depend on how they are computed.
 */

// 1.5 * 2^52: adding and subtracting it rounds a double of magnitude below 2^51 to the nearest
// integer, ties to even (the FPU's own rounding mode), with no branch.
const RINT = 6755399441055744;

/** Round half to even, as numpy's rint and onnxruntime's nearbyint. */
export function roundHalfEven(x: number): number {
  return Math.abs(x) < 2 ** 51 ? x + RINT - RINT : x;
}

/**
 * Range, per-axis range and quantization are core's kernels (WebAssembly SIMD with a JavaScript
 * fallback): q = saturate(roundHalfEven(x / scale) + zeroPoint), the division in float32, NaN to the
 * zero point, exactly as onnxruntime's QuantizeLinear.
 */
export { minMax, rangePerAxis, quantizeLinear, dequantizeLinear } from '@onnx-forge/core';

/** Transposes a row-major [rows, cols] matrix of bytes into [cols, rows]. */
export function transpose2d<T extends Int8Array | Uint8Array>(src: T, rows: number, cols: number, dst: T): T {
  // Blocked so both sides stay in cache for large matrices.
  const B = 64;
  for (let r0 = 0; r0 < rows; r0 += B) {
    const r1 = Math.min(rows, r0 + B);
    for (let c0 = 0; c0 < cols; c0 += B) {
      const c1 = Math.min(cols, c0 + B);
      for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) dst[c * rows + r] = src[r * cols + c] as number;
    }
  }
  return dst;
}
