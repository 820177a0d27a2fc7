import { ForgeError, ForgeErrorCode } from '../errors.js';
import { wasmKernels } from './kernel-instance.js';
import type { KernelExports } from './kernel-instance.js';
import { chunkLength, reserve } from './kernel-memory.js';

/** Converts float16 bit patterns to float32 (exact; NaN payloads and signed zeros kept). */
export function float16ToFloat32(src: Uint16Array, dst?: Float32Array): Float32Array {
  const n = src.length;
  if (dst && dst.length !== n) {
    throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `dst has ${dst.length} elements, expected ${n}`, {
      details: { expected: n, actual: dst.length },
    });
  }
  const out = dst ?? new Float32Array(n);
  const kernels = wasmKernels(src.length);
  if (kernels) convertWasm(kernels, src, out);
  else convertJs(src, out);
  return out;
}

function convertWasm(k: KernelExports, src: Uint16Array, out: Float32Array): void {
  const n = src.length;
  const chunk = chunkLength(n);
  const [inPtr, outPtr] = reserve(k, chunk * 2, chunk * 4) as [number, number];
  const inView = new Uint16Array(k.memory.buffer, inPtr, chunk);
  const outView = new Float32Array(k.memory.buffer, outPtr, chunk);
  for (let start = 0; start < n; start += chunk) {
    const len = Math.min(chunk, n - start);
    inView.set(src.subarray(start, start + len));
    k.f16_to_f32(inPtr, outPtr, len);
    out.set(len === chunk ? outView : outView.subarray(0, len), start);
  }
}

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

function convertJs(src: Uint16Array, out: Float32Array): void {
  // Written as bits so that NaN payloads survive, as in the wasm kernel.
  const bits = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < src.length; i++) {
    const h = src[i] as number;
    const em = h & 0x7fff;
    let o = (em << 13) + (112 << 23);
    if (em >= 0x7c00) o += 112 << 23;
    else if (em < 0x400) {
      // 2^-14 * (1 + m/1024) - 2^-14 = m * 2^-24, exact.
      scratchU32[0] = o + (1 << 23);
      scratchF32[0] = (scratchF32[0] as number) - 2 ** -14;
      o = scratchU32[0] as number;
    }
    bits[i] = o | ((h & 0x8000) << 16);
  }
}
