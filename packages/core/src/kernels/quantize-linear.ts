import { ForgeError, ForgeErrorCode } from '../errors.js';
import { wasmKernels } from './kernel-instance.js';
import type { KernelExports } from './kernel-instance.js';
import { quantParams, streamQuantChunks } from './quant-params.js';
import type { QuantizeOptions, QuantParams } from './quant-params.js';

/**
 * ONNX QuantizeLinear: dst = saturate(roundHalfEven(src / scale) + zeroPoint) into [qmin, qmax],
 * with the division in float32 as onnxruntime does. Per-tensor (a number or one scale) or per-axis
 * (opts.axis and opts.dims, one scale and zero point per channel). NaN quantizes to qmin, as in
 * onnxruntime's CPU kernel.
 */
export function quantizeLinear(
  src: Float32Array,
  scale: number | Float32Array,
  zeroPoint: number | Int32Array,
  dst: Int8Array | Uint8Array,
  opts: QuantizeOptions = {},
): void {
  if (dst.length !== src.length) {
    throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `quantizeLinear: dst has ${dst.length} elements, src ${src.length}`, {
      details: { src: src.length, dst: dst.length },
    });
  }
  const params = quantParams('quantizeLinear', src.length, scale, zeroPoint, dst, opts);
  const kernels = wasmKernels(src.length);
  if (!kernels || src.length === 0) quantizeJs(src, dst, params);
  else quantizeWasm(kernels, src, dst, params);
}

function quantizeWasm(k: KernelExports, src: Float32Array, dst: Int8Array | Uint8Array, p: QuantParams): void {
  const { channels, inner } = p.layout;
  const unsigned = p.unsigned ? 1 : 0;
  streamQuantChunks(k, p, src, new Int8Array(dst.buffer, dst.byteOffset, dst.length), ({ inPtr, outPtr, scalePtr, zpPtr, len, start, runs }) => {
    if (runs) k.quantize_runs(inPtr, outPtr, len, scalePtr, zpPtr, channels, inner, Math.floor(start / inner) % channels, start % inner, p.qmin, p.qmax, unsigned);
    else k.quantize_rows(inPtr, outPtr, len, scalePtr, zpPtr, channels * inner, start % (channels * inner), p.qmin, p.qmax, unsigned);
  });
}

/** Round half to even of a float32 value (exact: float32 values are doubles). */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function quantizeJs(src: Float32Array, dst: Int8Array | Uint8Array, p: QuantParams): void {
  const { outer, channels, inner } = p.layout;
  let i = 0;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const s = p.scales[c] as number;
      const zp = p.zeroPoints[c] as number;
      const lo = p.qmin - zp;
      const hi = p.qmax - zp;
      for (const end = i + inner; i < end; i++) {
        // A double quotient of two float32 rounded to float32 is the float32 quotient.
        let r = roundHalfEven(Math.fround((src[i] as number) / s));
        if (!(r >= lo)) r = lo; // NaN too
        if (r > hi) r = hi;
        dst[i] = r + zp;
      }
    }
  }
}
