// ONNX QuantizeLinear / DequantizeLinear to and from 8-bit integers.
// Quantize: q = saturate(roundHalfEven(x / scale) + zp) with the division in float32, as onnxruntime
// does. The clamp to [qmin - zp, qmax - zp] happens on the rounded float, before conversion, so the
// integer add cannot overflow; pmax(lo, r) is `lo < r ? r : lo`, so a NaN lane becomes lo and NaN
// quantizes to qmin, as in onnxruntime's MLAS kernel (MAXPS returns its second operand for NaN).
// Dequantize: x = float32(q - zp) * scale (exact int, one rounding), as onnxruntime does.

// @ts-ignore: decorator
@inline
function q4(x: v128, s: v128, lo: v128, hi: v128, zp: v128): v128 {
  const r = f32x4.pmin(f32x4.pmax(lo, f32x4.nearest(f32x4.div(x, s))), hi);
  return i32x4.add(i32x4.trunc_sat_f32x4_s(r), zp);
}

// @ts-ignore: decorator
@inline
function q1(x: f32, s: f32, zp: i32, lo: f32, hi: f32): i32 {
  let r = nearest<f32>(x / s);
  if (!(r >= lo)) r = lo; // NaN too
  if (r > hi) r = hi;
  return <i32>r + zp;
}

// @ts-ignore: decorator
@inline
function pack16(a: v128, b: v128, c: v128, d: v128, unsigned: i32): v128 {
  const ab = i16x8.narrow_i32x4_s(a, b);
  const cd = i16x8.narrow_i32x4_s(c, d);
  return unsigned ? i8x16.narrow_i16x8_u(ab, cd) : i8x16.narrow_i16x8_s(ab, cd);
}

function quantizeRun(src: usize, dst: usize, len: i32, s: f32, zp: i32, qmin: i32, qmax: i32, unsigned: i32): void {
  const lo = <f32>(qmin - zp);
  const hi = <f32>(qmax - zp);
  const sv = f32x4.splat(s);
  const zv = i32x4.splat(zp);
  const lov = f32x4.splat(lo);
  const hiv = f32x4.splat(hi);
  let j = 0;
  for (; j + 16 <= len; j += 16) {
    const p = src + ((<usize>j) << 2);
    const a = q4(v128.load(p), sv, lov, hiv, zv);
    const b = q4(v128.load(p, 16), sv, lov, hiv, zv);
    const c = q4(v128.load(p, 32), sv, lov, hiv, zv);
    const d = q4(v128.load(p, 48), sv, lov, hiv, zv);
    v128.store(dst + <usize>j, pack16(a, b, c, d, unsigned));
  }
  for (; j < len; j++) store<i8>(dst + <usize>j, q1(load<f32>(src + ((<usize>j) << 2)), s, zp, lo, hi));
}

/**
 * Quantizes n float32 at src into n bytes at dst when each channel is a run of `inner` values
 * (layout [outer, C, inner]; per-tensor is C = 1). The chunk starts `pos` values into channel `c`.
 * scales: C float32, zps: C int32.
 */
export function quantize_runs(
  src: usize,
  dst: usize,
  n: i32,
  scales: usize,
  zps: usize,
  channels: i32,
  inner: i32,
  c: i32,
  pos: i32,
  qmin: i32,
  qmax: i32,
  unsigned: i32,
): void {
  eachRun(true, src, dst, n, scales, zps, channels, inner, c, pos, qmin, qmax, unsigned);
}

/**
 * Quantizes rows of length `row` with one scale and zero point per row position (scales: row float32,
 * zps: row int32), for layouts whose channel runs are too short for quantize_runs.
 */
export function quantize_rows(
  src: usize,
  dst: usize,
  n: i32,
  scales: usize,
  zps: usize,
  row: i32,
  pos: i32,
  qmin: i32,
  qmax: i32,
  unsigned: i32,
): void {
  const qminv = i32x4.splat(qmin);
  const qmaxv = i32x4.splat(qmax);
  let i = 0;
  while (i < n) {
    const len = min(row - pos, n - i);
    const s = src + ((<usize>i) << 2);
    const d = dst + <usize>i;
    const ps = scales + ((<usize>pos) << 2);
    const pz = zps + ((<usize>pos) << 2);
    let j = 0;
    for (; j + 16 <= len; j += 16) {
      const o = (<usize>j) << 2;
      const z0 = v128.load(pz + o);
      const z1 = v128.load(pz + o, 16);
      const z2 = v128.load(pz + o, 32);
      const z3 = v128.load(pz + o, 48);
      const a = q4(v128.load(s + o), v128.load(ps + o), f32x4.convert_i32x4_s(i32x4.sub(qminv, z0)), f32x4.convert_i32x4_s(i32x4.sub(qmaxv, z0)), z0);
      const b = q4(v128.load(s + o, 16), v128.load(ps + o, 16), f32x4.convert_i32x4_s(i32x4.sub(qminv, z1)), f32x4.convert_i32x4_s(i32x4.sub(qmaxv, z1)), z1);
      const c = q4(v128.load(s + o, 32), v128.load(ps + o, 32), f32x4.convert_i32x4_s(i32x4.sub(qminv, z2)), f32x4.convert_i32x4_s(i32x4.sub(qmaxv, z2)), z2);
      const e = q4(v128.load(s + o, 48), v128.load(ps + o, 48), f32x4.convert_i32x4_s(i32x4.sub(qminv, z3)), f32x4.convert_i32x4_s(i32x4.sub(qmaxv, z3)), z3);
      v128.store(d + <usize>j, pack16(a, b, c, e, unsigned));
    }
    for (; j < len; j++) {
      const o = (<usize>j) << 2;
      const zp = load<i32>(pz + o);
      store<i8>(d + <usize>j, q1(load<f32>(s + o), load<f32>(ps + o), zp, <f32>(qmin - zp), <f32>(qmax - zp)));
    }
    i += len;
    pos = 0;
  }
}

// @ts-ignore: decorator
@inline
function dq4(q: v128, zp: v128, s: v128): v128 {
  return f32x4.mul(f32x4.convert_i32x4_s(i32x4.sub(q, zp)), s);
}

// @ts-ignore: decorator
@inline
function loadQ(p: usize, unsigned: i32): i32 {
  return unsigned ? <i32>load<u8>(p) : <i32>load<i8>(p);
}

function dequantizeRun(src: usize, dst: usize, len: i32, s: f32, zp: i32, unsigned: i32): void {
  const sv = f32x4.splat(s);
  const zv = i32x4.splat(zp);
  let j = 0;
  for (; j + 16 <= len; j += 16) {
    const v = v128.load(src + <usize>j);
    const lo = unsigned ? i16x8.extend_low_i8x16_u(v) : i16x8.extend_low_i8x16_s(v);
    const hi = unsigned ? i16x8.extend_high_i8x16_u(v) : i16x8.extend_high_i8x16_s(v);
    const p = dst + ((<usize>j) << 2);
    v128.store(p, dq4(i32x4.extend_low_i16x8_s(lo), zv, sv));
    v128.store(p, dq4(i32x4.extend_high_i16x8_s(lo), zv, sv), 16);
    v128.store(p, dq4(i32x4.extend_low_i16x8_s(hi), zv, sv), 32);
    v128.store(p, dq4(i32x4.extend_high_i16x8_s(hi), zv, sv), 48);
  }
  for (; j < len; j++) store<f32>(dst + ((<usize>j) << 2), <f32>(loadQ(src + <usize>j, unsigned) - zp) * s);
}

/** Inverse of quantize_runs: n bytes at src to n float32 at dst. */
export function dequantize_runs(
  src: usize,
  dst: usize,
  n: i32,
  scales: usize,
  zps: usize,
  channels: i32,
  inner: i32,
  c: i32,
  pos: i32,
  unsigned: i32,
): void {
  eachRun(false, src, dst, n, scales, zps, channels, inner, c, pos, 0, 0, unsigned);
}

/**
 * The walk quantize_runs and dequantize_runs share: each channel run of the chunk (layout
 * [outer, C, inner], starting `pos` values into channel `c`) is quantized (float32 at src to bytes at
 * dst) or dequantized (bytes to float32) with its channel's scale and zero point. Inlined with a
 * constant `quantize`, so each export compiles to its own loop with no branch on the direction.
 */
// @ts-ignore: decorator
@inline
function eachRun(quantize: bool, src: usize, dst: usize, n: i32, scales: usize, zps: usize, channels: i32, inner: i32, c: i32, pos: i32, qmin: i32, qmax: i32, unsigned: i32): void {
  let i = 0;
  while (i < n) {
    const len = min(inner - pos, n - i);
    const o = (<usize>c) << 2;
    const s = load<f32>(scales + o);
    const zp = load<i32>(zps + o);
    if (quantize) quantizeRun(src + ((<usize>i) << 2), dst + <usize>i, len, s, zp, qmin, qmax, unsigned);
    else dequantizeRun(src + <usize>i, dst + ((<usize>i) << 2), len, s, zp, unsigned);
    i += len;
    pos = 0;
    if (++c == channels) c = 0;
  }
}

/** Inverse of quantize_rows. */
export function dequantize_rows(src: usize, dst: usize, n: i32, scales: usize, zps: usize, row: i32, pos: i32, unsigned: i32): void {
  let i = 0;
  while (i < n) {
    const len = min(row - pos, n - i);
    const s = src + <usize>i;
    const d = dst + ((<usize>i) << 2);
    const ps = scales + ((<usize>pos) << 2);
    const pz = zps + ((<usize>pos) << 2);
    let j = 0;
    for (; j + 4 <= len; j += 4) {
      const o = (<usize>j) << 2;
      const b = v128.load32_zero(s + <usize>j);
      const q = unsigned ? i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(b)) : i32x4.extend_low_i16x8_s(i16x8.extend_low_i8x16_s(b));
      v128.store(d + o, dq4(q, v128.load(pz + o), v128.load(ps + o)));
    }
    for (; j < len; j++) {
      const o = (<usize>j) << 2;
      store<f32>(d + o, <f32>(loadQ(s + <usize>j, unsigned) - load<i32>(pz + o)) * load<f32>(ps + o));
    }
    i += len;
    pos = 0;
  }
}
