// Value ranges that ignore NaN. f32x4.pmin(acc, x) is `x < acc ? x : acc`, so a NaN lane never
// replaces the accumulator; the accumulators start at +-Inf and therefore never hold NaN.

let resultMin: f32 = 0;
let resultMax: f32 = 0;
let resultNan: i32 = 0;

function reduce(src: usize, n: i32): void {
  let mn0 = f32x4.splat(Infinity);
  let mn1 = mn0;
  let mx0 = f32x4.splat(-Infinity);
  let mx1 = mx0;
  let nan = i32x4.splat(0);
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const p = src + ((<usize>i) << 2);
    const x0 = v128.load(p);
    const x1 = v128.load(p, 16);
    mn0 = f32x4.pmin(mn0, x0);
    mn1 = f32x4.pmin(mn1, x1);
    mx0 = f32x4.pmax(mx0, x0);
    mx1 = f32x4.pmax(mx1, x1);
    nan = i32x4.sub(i32x4.sub(nan, f32x4.ne(x0, x0)), f32x4.ne(x1, x1));
  }
  const mn = f32x4.pmin(mn0, mn1);
  const mx = f32x4.pmax(mx0, mx1);
  let lo = Mathf.min(Mathf.min(f32x4.extract_lane(mn, 0), f32x4.extract_lane(mn, 1)), Mathf.min(f32x4.extract_lane(mn, 2), f32x4.extract_lane(mn, 3)));
  let hi = Mathf.max(Mathf.max(f32x4.extract_lane(mx, 0), f32x4.extract_lane(mx, 1)), Mathf.max(f32x4.extract_lane(mx, 2), f32x4.extract_lane(mx, 3)));
  let nans = i32x4.extract_lane(nan, 0) + i32x4.extract_lane(nan, 1) + i32x4.extract_lane(nan, 2) + i32x4.extract_lane(nan, 3);
  for (; i < n; i++) {
    const x = load<f32>(src + ((<usize>i) << 2));
    if (x != x) nans++;
    else {
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
  }
  resultMin = lo;
  resultMax = hi;
  resultNan = nans;
}

/** Writes [min f32, max f32, nanCount i32] of n float32 at src to out (min +Inf, max -Inf if none). */
export function min_max(src: usize, n: i32, out: usize): void {
  reduce(src, n);
  store<f32>(out, resultMin);
  store<f32>(out, resultMax, 4);
  store<i32>(out, resultNan, 8);
}

/**
 * Per-channel ranges when each channel is a run of `inner` contiguous values (layout [outer, C, inner]).
 * The chunk at src starts `pos` values into a run of channel `c`; mins/maxs (C float32 each) are merged.
 */
export function range_runs(src: usize, n: i32, mins: usize, maxs: usize, channels: i32, inner: i32, c: i32, pos: i32): void {
  let i = 0;
  while (i < n) {
    const len = min(inner - pos, n - i);
    reduce(src + ((<usize>i) << 2), len);
    const pm = mins + ((<usize>c) << 2);
    const px = maxs + ((<usize>c) << 2);
    if (resultMin < load<f32>(pm)) store<f32>(pm, resultMin);
    if (resultMax > load<f32>(px)) store<f32>(px, resultMax);
    i += len;
    pos = 0;
    if (++c == channels) c = 0;
  }
}

/**
 * Element-wise running ranges over rows of length `row` (used when runs are too short to reduce):
 * accMin/accMax hold one float32 per row position; the chunk at src starts at position `pos`.
 */
export function range_rows(src: usize, n: i32, accMin: usize, accMax: usize, row: i32, pos: i32): void {
  let i = 0;
  while (i < n) {
    const len = min(row - pos, n - i);
    const s = src + ((<usize>i) << 2);
    const am = accMin + ((<usize>pos) << 2);
    const ax = accMax + ((<usize>pos) << 2);
    let j = 0;
    for (; j + 4 <= len; j += 4) {
      const o = (<usize>j) << 2;
      const x = v128.load(s + o);
      v128.store(am + o, f32x4.pmin(v128.load(am + o), x));
      v128.store(ax + o, f32x4.pmax(v128.load(ax + o), x));
    }
    for (; j < len; j++) {
      const o = (<usize>j) << 2;
      const x = load<f32>(s + o);
      if (x < load<f32>(am + o)) store<f32>(am + o, x);
      if (x > load<f32>(ax + o)) store<f32>(ax + o, x);
    }
    i += len;
    pos = 0;
  }
}
