import { ForgeError, ForgeErrorCode } from '../errors.js';
import { FLOAT16_MAX, FLOAT16_MIN_SUBNORMAL, float32ToFloat16Bits } from '../numeric/float16.js';
import { wasmKernels } from './kernel-instance.js';
import type { KernelExports } from './kernel-instance.js';
import { chunkLength, reserve } from './kernel-memory.js';

export interface Float16ConvertOptions {
  /** Replace out-of-range values instead of letting them overflow to Inf or round (default true). */
  clamp?: boolean;
  /** Finite magnitudes above this become ±maxFinite when clamping (default 65504, at most 65504). */
  maxFinite?: number;
  /** Nonzero magnitudes below this become ±0 when clamping (default 2^-24). */
  minPositive?: number;
}

export interface Float16ConvertResult {
  out: Uint16Array;
  /** Finite values with |x| > maxFinite (clamped when `clamp` is on, otherwise converted as is). */
  clampedHigh: number;
  /** Nonzero values with |x| < minPositive (flushed to ±0 when `clamp` is on). */
  clampedLow: number;
  nan: number;
  inf: number;
}

const INF_BITS = 0x7f800000;
const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

function bitsOf(value: number): number {
  scratchF32[0] = value;
  return scratchU32[0] as number;
}

/** Thresholds as float32 bit patterns, exact for any double option: x > m ⇔ x > floor32(m). */
interface Limits {
  clamp: boolean;
  maxBits: number;
  minBits: number;
  maxHalf: number;
}

function limits(opts: Float16ConvertOptions): Limits {
  const clamp = opts.clamp ?? true;
  const maxFinite = opts.maxFinite ?? FLOAT16_MAX;
  const minPositive = opts.minPositive ?? FLOAT16_MIN_SUBNORMAL;
  if (!(maxFinite > 0 && maxFinite <= FLOAT16_MAX)) {
    throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `maxFinite must be in (0, ${FLOAT16_MAX}], got ${maxFinite}`, {
      details: { maxFinite },
    });
  }
  if (!(minPositive >= 0 && minPositive < maxFinite)) {
    throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `minPositive must be in [0, maxFinite), got ${minPositive}`, {
      details: { minPositive, maxFinite },
    });
  }
  let maxBits = bitsOf(maxFinite);
  if (Math.fround(maxFinite) > maxFinite) maxBits--;
  let minBits = bitsOf(minPositive);
  if (Math.fround(minPositive) < minPositive) minBits++;
  return { clamp, maxBits, minBits, maxHalf: float32ToFloat16Bits(maxFinite) };
}

function checkDst(n: number, dst: Uint16Array | undefined): Uint16Array {
  if (!dst) return new Uint16Array(n);
  if (dst.length !== n) {
    throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `dst has ${dst.length} elements, expected ${n}`, {
      details: { expected: n, actual: dst.length },
    });
  }
  return dst;
}

/**
 * Converts float32 to float16 bits, rounding to nearest even (bit-exact with `float32ToFloat16Bits`
 * where no clamping applies). NaN stays NaN, ±Inf stays ±Inf, ±0 keeps its sign. With `clamp` (the
 * default) finite values beyond ±maxFinite become ±maxFinite and nonzero values nearer zero than
 * minPositive become ±0, instead of turning into Inf or a rounded subnormal.
 */
export function float32ToFloat16(src: Float32Array, dst?: Uint16Array, opts: Float16ConvertOptions = {}): Uint16Array {
  return float32ToFloat16WithStats(src, dst, opts).out;
}

/** `float32ToFloat16` that also counts the values it clamped, and the NaN and Inf it met. */
export function float32ToFloat16WithStats(
  src: Float32Array,
  dst?: Uint16Array,
  opts: Float16ConvertOptions = {},
): Float16ConvertResult {
  const out = checkDst(src.length, dst);
  const lim = limits(opts);
  const kernels = wasmKernels(src.length);
  const counts = kernels ? convertWasm(kernels, src, out, lim) : convertJs(src, out, lim);
  return { out, clampedHigh: counts[0], clampedLow: counts[1], nan: counts[2], inf: counts[3] };
}

type Counts = [high: number, low: number, nan: number, inf: number];

function convertWasm(k: KernelExports, src: Float32Array, out: Uint16Array, lim: Limits): Counts {
  const n = src.length;
  const chunk = chunkLength(n);
  const [inPtr, outPtr, statsPtr] = reserve(k, chunk * 4, chunk * 2, 16) as [number, number, number];
  const buffer = k.memory.buffer;
  const inView = new Float32Array(buffer, inPtr, chunk);
  const outView = new Uint16Array(buffer, outPtr, chunk);
  const stats = new Int32Array(buffer, statsPtr, 4);
  const counts: Counts = [0, 0, 0, 0];
  for (let start = 0; start < n; start += chunk) {
    const len = Math.min(chunk, n - start);
    inView.set(src.subarray(start, start + len));
    k.f32_to_f16(inPtr, outPtr, len, lim.clamp ? 1 : 0, lim.maxBits, lim.minBits, lim.maxHalf, statsPtr);
    out.set(len === chunk ? outView : outView.subarray(0, len), start);
    for (let i = 0; i < 4; i++) counts[i as 0] += stats[i] as number;
  }
  return counts;
}

/** float16 bits of a float32 magnitude (sign bit clear), round to nearest even. */
function halfBits(a: number): number {
  if (a >= 143 << 23) return a > INF_BITS ? 0x7e00 | ((a >>> 13) & 0x3ff) : 0x7c00;
  if (a < 113 << 23) {
    // Adding 0.5 leaves the subnormal float16 mantissa, correctly rounded, in the low bits.
    scratchU32[0] = a;
    scratchF32[0] = (scratchF32[0] as number) + 0.5;
    return (scratchU32[0] as number) - (126 << 23);
  }
  return (a + ((15 - 127) << 23) + 0xfff + ((a >>> 13) & 1)) >>> 13;
}

function convertJs(src: Float32Array, out: Uint16Array, lim: Limits): Counts {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const { clamp, maxBits, minBits, maxHalf } = lim;
  let high = 0;
  let low = 0;
  let nan = 0;
  let inf = 0;
  for (let i = 0; i < bits.length; i++) {
    const x = bits[i] as number;
    const sign = (x >>> 16) & 0x8000;
    const a = x & 0x7fffffff;
    let h: number;
    if (a > maxBits && a < INF_BITS) {
      high++;
      h = clamp ? maxHalf : halfBits(a);
    } else if (a < minBits && a !== 0) {
      low++;
      h = clamp ? 0 : halfBits(a);
    } else {
      if (a > INF_BITS) nan++;
      else if (a === INF_BITS) inf++;
      h = halfBits(a);
    }
    out[i] = h | sign;
  }
  return [high, low, nan, inf];
}
