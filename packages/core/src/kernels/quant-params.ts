import { ForgeError, ForgeErrorCode } from '../errors.js';
import { axisLayout, useRuns } from './axis-layout.js';
import type { AxisLayout } from './axis-layout.js';
import type { KernelExports } from './kernel-instance.js';
import { chunkLength, reserve } from './kernel-memory.js';

/** Layout options shared by quantizeLinear and dequantizeLinear. */
export interface QuantLayoutOptions {
  /** Shape of the tensor; needed with `axis` (defaults to [length]). */
  dims?: readonly number[];
  /** Quantization axis for per-axis scales (ONNX `axis`); omit for per-tensor. */
  axis?: number;
}

export interface QuantizeOptions extends QuantLayoutOptions {
  /** Lowest quantized value (default: the type's minimum, -128 or 0). */
  qmin?: number;
  /** Highest quantized value (default: the type's maximum, 127 or 255). */
  qmax?: number;
}

/** Validated, normalised quantization parameters: one float32 scale and int32 zero point per channel. */
export interface QuantParams {
  layout: AxisLayout;
  scales: Float32Array;
  zeroPoints: Int32Array;
  unsigned: boolean;
  qmin: number;
  qmax: number;
}

function invalid(message: string, details: Record<string, unknown>): ForgeError {
  return new ForgeError(ForgeErrorCode.INVALID_OPTIONS, message, { details });
}

export function quantParams(
  what: string,
  length: number,
  scale: number | Float32Array,
  zeroPoint: number | Int32Array,
  quantized: Int8Array | Uint8Array,
  opts: QuantizeOptions,
): QuantParams {
  const unsigned = quantized instanceof Uint8Array;
  if (!unsigned && !(quantized instanceof Int8Array)) {
    throw new ForgeError(ForgeErrorCode.UNSUPPORTED_TYPE, `${what}: the quantized array must be an Int8Array or a Uint8Array`);
  }
  const typeMin = unsigned ? 0 : -128;
  const typeMax = unsigned ? 255 : 127;
  const qmin = opts.qmin ?? typeMin;
  const qmax = opts.qmax ?? typeMax;
  if (!Number.isInteger(qmin) || !Number.isInteger(qmax) || qmin < typeMin || qmax > typeMax || qmin > qmax) {
    throw invalid(`${what}: qmin ${qmin} and qmax ${qmax} must be integers with ${typeMin} <= qmin <= qmax <= ${typeMax}`, { qmin, qmax });
  }

  let layout: AxisLayout;
  if (opts.axis === undefined) {
    if (typeof scale !== 'number' && scale.length !== 1) {
      throw invalid(`${what}: ${scale.length} scales given without an axis; pass opts.axis (and opts.dims) for per-axis`, {
        scales: scale.length,
      });
    }
    layout = { outer: 1, channels: 1, inner: length };
  } else {
    layout = axisLayout(length, opts.dims ?? [length], opts.axis, what);
  }
  const channels = layout.channels;

  const scales = typeof scale === 'number' ? new Float32Array(channels).fill(scale) : scale;
  if (scales.length !== channels) {
    throw invalid(`${what}: ${scales.length} scales for ${channels} channels along axis ${opts.axis}`, {
      scales: scales.length,
      channels,
    });
  }
  const zeroPoints = typeof zeroPoint === 'number' ? new Int32Array(channels).fill(zeroPoint) : zeroPoint;
  if (zeroPoints.length !== channels) {
    throw invalid(`${what}: ${zeroPoints.length} zero points for ${channels} channels`, { zeroPoints: zeroPoints.length, channels });
  }
  for (const zp of typeof zeroPoint === 'number' ? [zeroPoint] : zeroPoints) {
    if (!Number.isInteger(zp) || zp < typeMin || zp > typeMax) {
      throw invalid(`${what}: zero point ${zp} must be an integer in the ${unsigned ? 'uint8' : 'int8'} range`, { zeroPoint: zp });
    }
  }
  return { layout, scales, zeroPoints, unsigned, qmin, qmax };
}

/** Per-channel values repeated `inner` times: one entry per position of a row of channels × inner. */
export function expandRow<T extends Float32Array | Int32Array>(values: T, inner: number, out: T): T {
  for (let c = 0, j = 0; c < values.length; c++) {
    const v = values[c] as number;
    for (let e = j + inner; j < e; j++) out[j] = v;
  }
  return out;
}

/** Where one chunk of a per-channel quantize or dequantize kernel reads and writes in wasm memory. */
export interface QuantChunkCall {
  inPtr: number;
  outPtr: number;
  scalePtr: number;
  zpPtr: number;
  /** Elements in this chunk. */
  len: number;
  /** Index of the chunk's first element in the whole tensor. */
  start: number;
  /** Parameters are one entry per channel (runs of `inner` elements) rather than one per row position. */
  runs: boolean;
}

/**
 * Streams `src` through a wasm per-channel kernel in chunks of its memory: copies the scales and zero
 * points in once (per channel for long runs, expanded to one row otherwise), then for each chunk copies
 * the input in, calls `kernel`, and copies the output out. `src` and `dst` are views of the same element
 * width as the kernel's input and output (int8 views for uint8 data).
 */
export function streamQuantChunks(
  k: KernelExports,
  p: QuantParams,
  src: Float32Array | Int8Array,
  dst: Float32Array | Int8Array,
  kernel: (call: QuantChunkCall) => void,
): void {
  const runs = useRuns(p.layout);
  const { channels, inner } = p.layout;
  const params = runs ? channels : channels * inner;
  const n = src.length;
  const chunk = chunkLength(n);
  const [inPtr, outPtr, scalePtr, zpPtr] = reserve(k, chunk * src.BYTES_PER_ELEMENT, chunk * dst.BYTES_PER_ELEMENT, params * 4, params * 4) as [number, number, number, number];
  const buffer = k.memory.buffer;
  const inView = new (src.constructor as Float32ArrayConstructor | Int8ArrayConstructor)(buffer, inPtr, chunk);
  const outView = new (dst.constructor as Float32ArrayConstructor | Int8ArrayConstructor)(buffer, outPtr, chunk);
  const scaleView = new Float32Array(buffer, scalePtr, params);
  const zpView = new Int32Array(buffer, zpPtr, params);
  if (runs) {
    scaleView.set(p.scales);
    zpView.set(p.zeroPoints);
  } else {
    expandRow(p.scales, inner, scaleView);
    expandRow(p.zeroPoints, inner, zpView);
  }
  for (let start = 0; start < n; start += chunk) {
    const len = Math.min(chunk, n - start);
    inView.set(src.subarray(start, start + len));
    kernel({ inPtr, outPtr, scalePtr, zpPtr, len, start, runs });
    dst.set(len === chunk ? outView : outView.subarray(0, len), start);
  }
}
