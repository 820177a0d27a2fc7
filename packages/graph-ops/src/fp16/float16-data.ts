import {
  DataType, float32ToFloat16Bits, float32ToFloat16WithStats, isLazy, lentView, tensorElementCount, tensorRawBytes, tensorToFloat32, withScratch,
  withTensorFloat32, type TensorProto,
} from '@onnx-forge/core';

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
 * After core's kernel flushed values nearer zero than minPositive to ±0, set them to ±minPositive
 * instead, as onnxconverter-common does: a tiny epsilon constant (LayerNorm's 1e-12) must stay
 * non-zero or a later division blows up. Only zeros of the output can be such values, and native
 * indexOf finds them far faster than a loop over every element.
 */
function raiseFlushed(src: Float32Array, out: Uint16Array, minPositive: number): void {
  const lo = float32ToFloat16Bits(minPositive);
  const fix = (i: number) => {
    const x = src[i] as number;
    if (x !== 0 && Math.abs(x) < minPositive) out[i] = (x < 0 ? 0x8000 : 0) | lo;
  };
  if (typeof Buffer !== 'undefined') {
    // Node: Buffer.indexOf is a vectorised memmem over the bytes, faster than a typed-array indexOf.
    // A match at an odd byte offset straddles two values and is skipped.
    const bytes = Buffer.from(out.buffer, out.byteOffset, out.byteLength);
    for (const pattern of [POSITIVE_ZERO, NEGATIVE_ZERO]) {
      for (let b = bytes.indexOf(pattern); b >= 0; b = bytes.indexOf(pattern, b + 1)) if ((b & 1) === 0) fix(b >> 1);
    }
    return;
  }
  for (const zero of [0x0000, 0x8000]) for (let i = out.indexOf(zero); i >= 0; i = out.indexOf(zero, i + 1)) fix(i);
}

// float16 ±0 as little-endian bytes.
const POSITIVE_ZERO = Uint8Array.of(0x00, 0x00);
const NEGATIVE_ZERO = Uint8Array.of(0x00, 0x80);

/**
 * float32 → float16 bits through core's kernels (WebAssembly SIMD, JavaScript where unavailable),
 * clamping when asked: finite magnitudes above maxFinite become ±maxFinite, non-zero magnitudes below
 * minPositive become ±minPositive; sign, zero, NaN and infinities are kept.
 */
export function toFloat16(src: Float32Array, limits: ClampLimits, dst = allocUint16(src.length)): Float16Result {
  const r = float32ToFloat16WithStats(src, dst, limits);
  // Without clamping the kernel still counts out-of-range values, but nothing was clamped.
  if (!limits.clamp) return { data: r.out, clampedHigh: 0, clampedLow: 0 };
  if (r.clampedLow > 0) raiseFlushed(src, r.out, limits.minPositive);
  return { data: r.out, clampedHigh: r.clampedHigh, clampedLow: r.clampedLow };
}

/**
 * An uninitialised Uint16Array where Node allows it (every element is written by the conversion, so
 * zero-filling 220 MB for BERT-base would be wasted work).
 */
function allocUint16(n: number): Uint16Array {
  if (typeof Buffer === 'undefined' || n < 4096) return new Uint16Array(n);
  const b = Buffer.allocUnsafeSlow(n * 2);
  return new Uint16Array(b.buffer, b.byteOffset, n);
}

/** Elements converted per step when a tensor's bytes are not 4-byte aligned (bounds the scratch copy). */
const CHUNK = 1 << 20;

/**
 * A float32 tensor's values as float16 bits. Raw data decoded from a file is a view at any byte
 * offset: aligned data is converted in place, unaligned data through a bounded scratch buffer rather
 * than a full float32 copy of the tensor.
 */
export function tensorToFloat16(t: TensorProto, limits: ClampLimits, into?: Uint8Array): Float16Result {
  const n = tensorElementCount(t);
  // The writer's lent memory when it offers some (a derive), else new memory.
  const out = lentView(into, Uint16Array, n) ?? allocUint16(n);
  if (t.dataType !== DataType.FLOAT) return toFloat16(tensorToFloat32(t), limits, out);
  // A weight still in its file is read into lent memory.
  if (isLazy(t)) return withTensorFloat32(t, (values) => toFloat16(values, limits, out));
  if (!Object.prototype.hasOwnProperty.call(t, 'rawData')) return toFloat16(tensorToFloat32(t), limits, out);
  const bytes = tensorRawBytes(t);
  if (bytes.byteOffset % 4 === 0) return toFloat16(new Float32Array(bytes.buffer, bytes.byteOffset, n), limits, out);
  const scratch = new Float32Array(Math.min(n, CHUNK));
  const scratchBytes = new Uint8Array(scratch.buffer);
  let clampedHigh = 0;
  let clampedLow = 0;
  for (let start = 0; start < n; start += CHUNK) {
    const len = Math.min(CHUNK, n - start);
    scratchBytes.set(bytes.subarray(start * 4, (start + len) * 4));
    const r = toFloat16(scratch.subarray(0, len), limits, out.subarray(start, start + len));
    clampedHigh += r.clampedHigh;
    clampedLow += r.clampedLow;
  }
  return { data: out, clampedHigh, clampedLow };
}

/**
 * What converting `t` would clamp, without keeping the float16 values: for a weight still in its
 * file, whose float16 form the writer makes again when it reaches it, so the pass reads and converts
 * it into lent memory (no fresh pages for a result it drops). Other tensors convert as usual.
 */
export function float16Clamps(t: TensorProto, limits: ClampLimits): Omit<Float16Result, 'data'> & { data?: Uint16Array } {
  if (t.dataType !== DataType.FLOAT || !isLazy(t)) return tensorToFloat16(t, limits);
  return withTensorFloat32(t, (values) =>
    withScratch(values.length * 2, (bytes) => {
      const { clampedHigh, clampedLow } = toFloat16(values, limits, lentView(bytes, Uint16Array, values.length));
      return { clampedHigh, clampedLow };
    }),
  );
}
