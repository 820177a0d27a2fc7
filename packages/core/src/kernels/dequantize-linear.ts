import { ForgeError, ForgeErrorCode } from '../errors.js';
import { useRuns } from './axis-layout.js';
import { wasmKernels } from './kernel-instance.js';
import type { KernelExports } from './kernel-instance.js';
import { chunkLength, reserve } from './kernel-memory.js';
import { expandRow, quantParams } from './quant-params.js';
import type { QuantLayoutOptions, QuantParams } from './quant-params.js';

/**
 * ONNX DequantizeLinear: dst = float32(src - zeroPoint) * scale (the integer difference is exact, the
 * product rounds once), per-tensor or per-axis with the same layout options as quantizeLinear.
 */
export function dequantizeLinear(
  src: Int8Array | Uint8Array,
  scale: number | Float32Array,
  zeroPoint: number | Int32Array,
  dst: Float32Array,
  opts: QuantLayoutOptions = {},
): void {
  if (dst.length !== src.length) {
    throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `dequantizeLinear: dst has ${dst.length} elements, src ${src.length}`, {
      details: { src: src.length, dst: dst.length },
    });
  }
  const params = quantParams('dequantizeLinear', src.length, scale, zeroPoint, src, { dims: opts.dims, axis: opts.axis });
  const kernels = wasmKernels(src.length);
  if (!kernels || src.length === 0) dequantizeJs(src, dst, params);
  else dequantizeWasm(kernels, src, dst, params, useRuns(params.layout));
}

function dequantizeWasm(k: KernelExports, src: Int8Array | Uint8Array, dst: Float32Array, p: QuantParams, runs: boolean): void {
  const { channels, inner } = p.layout;
  const row = channels * inner;
  const params = runs ? channels : row;
  const n = src.length;
  const chunk = chunkLength(n);
  const [inPtr, outPtr, scalePtr, zpPtr] = reserve(k, chunk, chunk * 4, params * 4, params * 4) as [number, number, number, number];
  const buffer = k.memory.buffer;
  const inView = new Int8Array(buffer, inPtr, chunk);
  const outView = new Float32Array(buffer, outPtr, chunk);
  const scaleView = new Float32Array(buffer, scalePtr, params);
  const zpView = new Int32Array(buffer, zpPtr, params);
  if (runs) {
    scaleView.set(p.scales);
    zpView.set(p.zeroPoints);
  } else {
    expandRow(p.scales, inner, scaleView);
    expandRow(p.zeroPoints, inner, zpView);
  }
  const bytes = new Int8Array(src.buffer, src.byteOffset, src.length);
  const unsigned = p.unsigned ? 1 : 0;
  for (let start = 0; start < n; start += chunk) {
    const len = Math.min(chunk, n - start);
    inView.set(bytes.subarray(start, start + len));
    if (runs) {
      const c = Math.floor(start / inner) % channels;
      k.dequantize_runs(inPtr, outPtr, len, scalePtr, zpPtr, channels, inner, c, start % inner, unsigned);
    } else {
      k.dequantize_rows(inPtr, outPtr, len, scalePtr, zpPtr, row, start % row, unsigned);
    }
    dst.set(len === chunk ? outView : outView.subarray(0, len), start);
  }
}

function dequantizeJs(src: Int8Array | Uint8Array, dst: Float32Array, p: QuantParams): void {
  const { outer, channels, inner } = p.layout;
  let i = 0;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const s = p.scales[c] as number;
      const zp = p.zeroPoints[c] as number;
      // The double product of an integer below 2^9 and a float32 is exact; the store rounds it once.
      for (const end = i + inner; i < end; i++) dst[i] = ((src[i] as number) - zp) * s;
    }
  }
}
