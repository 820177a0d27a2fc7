import { ForgeError, ForgeErrorCode } from '../errors.js';
import { wasmKernels } from './kernel-instance.js';
import type { KernelExports } from './kernel-instance.js';
import { quantParams, streamQuantChunks } from './quant-params.js';
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
  else dequantizeWasm(kernels, src, dst, params);
}

function dequantizeWasm(k: KernelExports, src: Int8Array | Uint8Array, dst: Float32Array, p: QuantParams): void {
  const { channels, inner } = p.layout;
  const unsigned = p.unsigned ? 1 : 0;
  streamQuantChunks(k, p, new Int8Array(src.buffer, src.byteOffset, src.length), dst, ({ inPtr, outPtr, scalePtr, zpPtr, len, start, runs }) => {
    if (runs) k.dequantize_runs(inPtr, outPtr, len, scalePtr, zpPtr, channels, inner, Math.floor(start / inner) % channels, start % inner, unsigned);
    else k.dequantize_rows(inPtr, outPtr, len, scalePtr, zpPtr, channels * inner, start % (channels * inner), unsigned);
  });
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
