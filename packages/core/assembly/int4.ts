// 4-bit block quantization of the columns of a row-major float32 matrix [K, N] (a MatMul weight), in the
// layout onnxruntime's MatMulNBits reads: column n is cut into blocks of `bs` values along K; block b of
// column n has its scale and zero point at n * blocks + b and its codes, two per byte (first value in the
// low nibble, a short last block padded with the zero point), at (n * blocks + b) * bs / 2.
//
// The host passes a band of whole blocks at a time: rows [b0 * bs, b0 * bs + kb) of the matrix, all N
// columns, at `src`; outputs cover the whole matrix. Four neighbouring columns share each 16-byte load.
// The arithmetic is that of graph-ops' int4 quantizer (quant/int4/block-quantize.ts) step for step,
// in the same precision (float32 compares, float64 products and quotients rounded once to float32 where
// it rounds), so both give the same bytes:
// - symmetric: the value of largest magnitude (the first one on a tie) maps to code -8: scale =
//   float32(extreme / -8), zero point 8;
// - asymmetric: lo = min(0, min), hi = max(0, max), scale = float32((hi - lo) / 15), zero point
//   round(-lo / scale) clamped to [0, 15] (scale 0: zero point 8);
// - code = clamp(roundHalfUp(x * (1 / scale)) + zp, 0, 15) in float64, NaN to 0.
// NaN values never win a range (every compare with them is false), as in the JavaScript.

// @ts-ignore: decorator
@inline
function roundHalfUp(y: f64): f64 {
  const q = Math.floor(y + 0.5);
  return q - 0.5 > y ? q - 1 : q;
}

// @ts-ignore: decorator
@inline
function roundHalfUp2(y: v128): v128 {
  const q = f64x2.floor(f64x2.add(y, f64x2.splat(0.5)));
  const over = f64x2.gt(f64x2.sub(q, f64x2.splat(0.5)), y);
  return f64x2.sub(q, v128.and(over, f64x2.splat(1.0)));
}

/** Scale and zero point of an asymmetric block from its range (lo <= 0 <= hi); writes both. */
// @ts-ignore: decorator
@inline
function asymmetric(lo: f32, hi: f32, scaleAt: usize, zpAt: usize): void {
  const scale = <f32>((<f64>hi - <f64>lo) / 15);
  if (scale == 0) {
    store<f32>(scaleAt, 0);
    store<u8>(zpAt, 8);
    return;
  }
  let zp = roundHalfUp(-(<f64>lo) / <f64>scale);
  if (!(zp >= 0)) zp = 0;
  else if (zp > 15) zp = 15;
  store<f32>(scaleAt, scale);
  store<u8>(zpAt, <u8>(<i32>zp));
}

/** One column's blocks (the columns left over after the groups of four); 1 if a value is NaN or infinite. */
function paramsColumn(src: usize, rowBytes: usize, kb: i32, bs: i32, symmetric: i32, out: usize, scales: usize, zps: usize): i32 {
  let bad = false;
  for (let k0 = 0, o = out; k0 < kb; k0 += bs, o++) {
    const len = min(bs, kb - k0);
    let p = src + <usize>k0 * rowBytes;
    if (symmetric) {
      let extreme: f32 = 0;
      for (let i = 0; i < len; i++, p += rowBytes) {
        const x = load<f32>(p);
        bad |= !(x - x == 0);
        if (Mathf.abs(x) > Mathf.abs(extreme)) extreme = x;
      }
      store<f32>(scales + (o << 2), extreme / -8 + 0);
      store<u8>(zps + o, 8);
    } else {
      let lo: f32 = 0;
      let hi: f32 = 0;
      for (let i = 0; i < len; i++, p += rowBytes) {
        const x = load<f32>(p);
        bad |= !(x - x == 0);
        if (x < lo) lo = x;
        if (x > hi) hi = x;
      }
      asymmetric(lo, hi, scales + (o << 2), zps + o);
    }
  }
  return <i32>bad;
}

/**
 * Scale and zero point of block `at` of four neighbouring columns (then + `stride` per column), from
 * its `len` rows at p; returns `bad` with all bits set in a lane that met a NaN or an infinity
 * (x - x is 0 for finite x only).
 */
// @ts-ignore: decorator
@inline
function paramsGroup(p: usize, rowBytes: usize, len: i32, symmetric: i32, at: usize, stride: usize, scales: usize, zps: usize, bad: v128): v128 {
  if (symmetric) {
    let extreme = f32x4.splat(0);
    for (let i = 0; i < len; i++, p += rowBytes) {
      const x = v128.load(p);
      bad = v128.or(bad, f32x4.ne(f32x4.sub(x, x), f32x4.splat(0)));
      extreme = v128.bitselect(x, extreme, f32x4.gt(f32x4.abs(x), f32x4.abs(extreme)));
    }
    // float32 division is float64's rounded once; + 0 turns -0 (an all-zero block) into 0.
    const s = f32x4.add(f32x4.div(extreme, f32x4.splat(-8)), f32x4.splat(0));
    store<f32>(scales + (at << 2), f32x4.extract_lane(s, 0));
    store<f32>(scales + ((at + stride) << 2), f32x4.extract_lane(s, 1));
    store<f32>(scales + ((at + 2 * stride) << 2), f32x4.extract_lane(s, 2));
    store<f32>(scales + ((at + 3 * stride) << 2), f32x4.extract_lane(s, 3));
    store<u8>(zps + at, 8);
    store<u8>(zps + at + stride, 8);
    store<u8>(zps + at + 2 * stride, 8);
    store<u8>(zps + at + 3 * stride, 8);
  } else {
    let lo = f32x4.splat(0);
    let hi = f32x4.splat(0);
    for (let i = 0; i < len; i++, p += rowBytes) {
      const x = v128.load(p);
      bad = v128.or(bad, f32x4.ne(f32x4.sub(x, x), f32x4.splat(0)));
      lo = f32x4.pmin(lo, x); // x < lo ? x : lo
      hi = f32x4.pmax(hi, x); // hi < x ? x : hi
    }
    asymmetric(f32x4.extract_lane(lo, 0), f32x4.extract_lane(hi, 0), scales + (at << 2), zps + at);
    asymmetric(f32x4.extract_lane(lo, 1), f32x4.extract_lane(hi, 1), scales + ((at + stride) << 2), zps + at + stride);
    asymmetric(f32x4.extract_lane(lo, 2), f32x4.extract_lane(hi, 2), scales + ((at + 2 * stride) << 2), zps + at + 2 * stride);
    asymmetric(f32x4.extract_lane(lo, 3), f32x4.extract_lane(hi, 3), scales + ((at + 3 * stride) << 2), zps + at + 3 * stride);
  }
  return bad;
}

// @ts-ignore: decorator
@inline
function code(x: f64, inv: f64, zp: f64): i32 {
  let q = roundHalfUp(x * inv) + zp;
  if (!(q >= 0)) q = 0; // NaN too
  else if (q > 15) q = 15;
  return <i32>q;
}

// @ts-ignore: decorator
@inline
function invOf(scale: f32): f64 {
  return scale == 0 ? 0 : 1 / <f64>scale;
}

/** Codes of two lanes (float64) for their 1 / scale and zero point: clamped to [0, 15], NaN to 0, as i32 in lanes 0-1. */
// @ts-ignore: decorator
@inline
function codes2(x: v128, inv: v128, zp: v128): v128 {
  const q = f64x2.add(roundHalfUp2(f64x2.mul(x, inv)), zp);
  // pmax(0, q) is `0 < q ? q : 0`: NaN becomes 0.
  return i32x4.trunc_sat_f64x2_s_zero(f64x2.pmin(f64x2.splat(15), f64x2.pmax(f64x2.splat(0), q)));
}

/** Codes of four float32 lanes, as i32x4. */
// @ts-ignore: decorator
@inline
function codes4(x: v128, invLo: v128, invHi: v128, zpLo: v128, zpHi: v128): v128 {
  const lo = codes2(f64x2.promote_low_f32x4(x), invLo, zpLo);
  const hi = codes2(f64x2.promote_low_f32x4(i32x4.shuffle(x, x, 2, 3, 0, 1)), invHi, zpHi);
  return i32x4.shuffle(lo, hi, 0, 1, 4, 5);
}

function packColumn(src: usize, rowBytes: usize, kb: i32, bs: i32, out: usize, scales: usize, zps: usize, packed: usize): void {
  const half = bs >> 1;
  for (let k0 = 0, o = out; k0 < kb; k0 += bs, o++) {
    const len = min(bs, kb - k0);
    const inv = invOf(load<f32>(scales + (o << 2)));
    const zp = <i32>load<u8>(zps + o);
    const zf = <f64>zp;
    const dst = packed + o * <usize>half;
    let p = src + <usize>k0 * rowBytes;
    let j = 0;
    for (; 2 * j + 1 < len; j++, p += 2 * rowBytes) {
      store<u8>(dst + j, code(load<f32>(p), inv, zf) | (code(load<f32>(p + rowBytes), inv, zf) << 4));
    }
    if (len & 1) store<u8>(dst + j++, code(load<f32>(p), inv, zf) | (zp << 4));
    for (; j < half; j++) store<u8>(dst + j, zp | (zp << 4));
  }
}

/** Codes of block `at` of four neighbouring columns (then + `stride` per column), from its `len` rows at p, for a block size `bs`. */
// @ts-ignore: decorator
@inline
function packGroup(p: usize, rowBytes: usize, len: i32, bs: i32, at: usize, stride: usize, scales: usize, zps: usize, packed: usize): void {
  const half = bs >> 1;
  const s0 = load<f32>(scales + (at << 2));
  const s1 = load<f32>(scales + ((at + stride) << 2));
  const s2 = load<f32>(scales + ((at + 2 * stride) << 2));
  const s3 = load<f32>(scales + ((at + 3 * stride) << 2));
  const z0 = <i32>load<u8>(zps + at);
  const z1 = <i32>load<u8>(zps + at + stride);
  const z2 = <i32>load<u8>(zps + at + 2 * stride);
  const z3 = <i32>load<u8>(zps + at + 3 * stride);
  const invLo = f64x2.replace_lane(f64x2.splat(invOf(s0)), 1, invOf(s1));
  const invHi = f64x2.replace_lane(f64x2.splat(invOf(s2)), 1, invOf(s3));
  const zpLo = f64x2.replace_lane(f64x2.splat(<f64>z0), 1, <f64>z1);
  const zpHi = f64x2.replace_lane(f64x2.splat(<f64>z2), 1, <f64>z3);
  const d0 = packed + at * <usize>half;
  const d1 = d0 + stride * <usize>half;
  const d2 = d1 + stride * <usize>half;
  const d3 = d2 + stride * <usize>half;
  let i = 0;
  for (; 2 * i + 1 < len; i++, p += 2 * rowBytes) {
    const a = codes4(v128.load(p), invLo, invHi, zpLo, zpHi);
    const b = codes4(v128.load(p + rowBytes), invLo, invHi, zpLo, zpHi);
    const byte = v128.or(a, i32x4.shl(b, 4));
    store<u8>(d0 + i, <u8>i32x4.extract_lane(byte, 0));
    store<u8>(d1 + i, <u8>i32x4.extract_lane(byte, 1));
    store<u8>(d2 + i, <u8>i32x4.extract_lane(byte, 2));
    store<u8>(d3 + i, <u8>i32x4.extract_lane(byte, 3));
  }
  if (len & 1) {
    const a = codes4(v128.load(p), invLo, invHi, zpLo, zpHi);
    store<u8>(d0 + i, <u8>(i32x4.extract_lane(a, 0) | (z0 << 4)));
    store<u8>(d1 + i, <u8>(i32x4.extract_lane(a, 1) | (z1 << 4)));
    store<u8>(d2 + i, <u8>(i32x4.extract_lane(a, 2) | (z2 << 4)));
    store<u8>(d3 + i, <u8>(i32x4.extract_lane(a, 3) | (z3 << 4)));
    i++;
  }
  for (; i < half; i++) {
    store<u8>(d0 + i, <u8>(z0 | (z0 << 4)));
    store<u8>(d1 + i, <u8>(z1 | (z1 << 4)));
    store<u8>(d2 + i, <u8>(z2 | (z2 << 4)));
    store<u8>(d3 + i, <u8>(z3 | (z3 << 4)));
  }
}

/**
 * The walk both kernels share over a band (`kb` rows of `width` columns at src, its first block being
 * block `b0` of `blocks` per column): each block of four neighbouring columns, then the columns left
 * over one at a time. Inlined with a constant `pack`, so each export compiles to its own loop.
 * Returns 1 when computing params met a NaN or an infinity (packing: always 0).
 */
// @ts-ignore: decorator
@inline
function eachBlock(pack: bool, src: usize, width: i32, kb: i32, bs: i32, blocks: i32, b0: i32, symmetric: i32, scales: usize, zps: usize, packed: usize): i32 {
  const rowBytes = (<usize>width) << 2;
  const nb = (kb + bs - 1) / bs;
  const stride = <usize>blocks;
  let bad = i32x4.splat(0);
  let badColumn = 0;
  let n = 0;
  for (; n + 4 <= width; n += 4) {
    const col = src + ((<usize>n) << 2);
    for (let j = 0; j < nb; j++) {
      const k0 = j * bs;
      const len = min(bs, kb - k0);
      const p = col + <usize>k0 * rowBytes;
      // Block j of columns n..n+3 is at n * blocks + b0 + j, then + blocks per column.
      const at = <usize>n * stride + <usize>(b0 + j);
      if (pack) packGroup(p, rowBytes, len, bs, at, stride, scales, zps, packed);
      else bad = paramsGroup(p, rowBytes, len, symmetric, at, stride, scales, zps, bad);
    }
  }
  for (; n < width; n++) {
    const col = src + ((<usize>n) << 2);
    const out = <usize>n * stride + <usize>b0;
    if (pack) packColumn(col, rowBytes, kb, bs, out, scales, zps, packed);
    else badColumn |= paramsColumn(col, rowBytes, kb, bs, symmetric, out, scales, zps);
  }
  return <i32>(v128.any_true(bad) || badColumn != 0);
}

/**
 * Scales (float32) and zero points (one byte each) of the blocks of a band: `kb` rows of `width`
 * columns at src, the band's first block being block `b0` of `blocks` per column. Returns 1 when the
 * band holds a NaN or an infinity (which no 4-bit scale represents), else 0.
 */
export function int4_params(src: usize, width: i32, kb: i32, bs: i32, blocks: i32, b0: i32, symmetric: i32, scales: usize, zps: usize): i32 {
  return eachBlock(false, src, width, kb, bs, blocks, b0, symmetric, scales, zps, 0);
}

/**
 * The packed codes of a band's blocks (`int4_params`' arguments), for the scales and zero points at
 * `scales` and `zps` (whole-matrix layout), into `packed` (whole-matrix layout).
 */
export function int4_pack(src: usize, width: i32, kb: i32, bs: i32, blocks: i32, b0: i32, scales: usize, zps: usize, packed: usize): void {
  eachBlock(true, src, width, kb, bs, blocks, b0, 0, scales, zps, packed);
}
