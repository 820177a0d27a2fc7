/*
 * onnxruntime compares float32 inputs with float32 thresholds, while LightGBM and mljs thresholds are
 * doubles. Rounding a threshold to the nearest float32 (Math.fround) can move it across an input value
 * and change a decision; rounding in the direction of the comparison cannot: for every float32 x,
 *   x <= t  ⟺  x <= float32AtMost(t)      and      x < t  ⟺  x < float32AtLeast(t).
 */

const F32 = new Float32Array(1);
const BITS = new Int32Array(F32.buffer);

/** The float32 next to `f` (itself a float32 value) in the direction of `up`. */
function step(f: number, up: boolean): number {
  if (f === 0) {
    // Both zeros step to the smallest subnormal of the requested sign.
    BITS[0] = up ? 1 : 0x80000001 | 0;
    return F32[0] as number;
  }
  F32[0] = f;
  // For IEEE floats the bit pattern of a magnitude grows with the magnitude.
  BITS[0] = (BITS[0] as number) + ((f > 0) === up ? 1 : -1);
  return F32[0] as number;
}

/** The largest float32 not greater than `t` (−Infinity below the float32 range; NaN stays NaN). */
export function float32AtMost(t: number): number {
  const f = Math.fround(t);
  if (!(f > t)) return f;
  return step(f, false);
}

/** The smallest float32 not less than `t` (+Infinity above the float32 range; NaN stays NaN). */
export function float32AtLeast(t: number): number {
  const f = Math.fround(t);
  if (!(f < t)) return f;
  return step(f, true);
}
