// Histogram accumulation for Percentile and Entropy calibration.
// Bin of x: trunc((x - lo) * inv) in float32, clamped to [0, bins - 1], so values outside [lo, hi]
// land in the edge bins. NaN goes to an extra slot (index `bins`) that the host ignores.

/**
 * Adds the bins of n float32 at src into `copies` (1 or 4) interleaved count tables of bins + 1 u32
 * each at counts. Four tables let the four lanes of a vector increment without waiting on each
 * other when they hit the same bin; the host sums them.
 */
export function histogram(src: usize, n: i32, counts: usize, bins: i32, copies: i32, lo: f32, inv: f32, abs: i32): void {
  const stride = (<usize>(bins + 1)) << 2;
  const mask = <usize>(copies - 1);
  const t1 = counts + (mask & 1) * stride;
  const t2 = counts + (mask & 2) * stride;
  const t3 = counts + (mask & 3) * stride;
  const lov = f32x4.splat(lo);
  const invv = f32x4.splat(inv);
  const zero = i32x4.splat(0);
  const last = i32x4.splat(bins - 1);
  const nanSlot = i32x4.splat(bins);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    let x = v128.load(src + ((<usize>i) << 2));
    if (abs) x = f32x4.abs(x);
    let k = i32x4.trunc_sat_f32x4_s(f32x4.mul(f32x4.sub(x, lov), invv));
    k = i32x4.min_s(i32x4.max_s(k, zero), last);
    k = v128.bitselect(nanSlot, k, f32x4.ne(x, x));
    bump(counts + ((<usize>i32x4.extract_lane(k, 0)) << 2));
    bump(t1 + ((<usize>i32x4.extract_lane(k, 1)) << 2));
    bump(t2 + ((<usize>i32x4.extract_lane(k, 2)) << 2));
    bump(t3 + ((<usize>i32x4.extract_lane(k, 3)) << 2));
  }
  for (; i < n; i++) {
    let x = load<f32>(src + ((<usize>i) << 2));
    if (abs) x = Mathf.abs(x);
    let k = bins;
    if (x == x) {
      const t = (x - lo) * inv;
      k = t != t ? 0 : <i32>Mathf.max(Mathf.min(t, <f32>(bins - 1)), 0);
    }
    bump(counts + ((<usize>k) << 2));
  }
}

// @ts-ignore: decorator
@inline
function bump(p: usize): void {
  store<u32>(p, load<u32>(p) + 1);
}
