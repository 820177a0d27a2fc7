import { wasmKernels } from './kernel-instance.js';
import type { KernelExports } from './kernel-instance.js';
import { chunkLength, reserve } from './kernel-memory.js';

export interface MinMax {
  /** Smallest non-NaN value, +Infinity when there is none (the identity of min, so ranges merge). */
  min: number;
  /** Largest non-NaN value, -Infinity when there is none. */
  max: number;
  nanCount: number;
}

/** Range of an array, NaN ignored (and counted). */
export function minMax(src: Float32Array): MinMax {
  const kernels = wasmKernels(src.length);
  return kernels ? minMaxWasm(kernels, src) : minMaxJs(src);
}

function minMaxWasm(k: KernelExports, src: Float32Array): MinMax {
  const n = src.length;
  const chunk = chunkLength(n);
  const [inPtr, outPtr] = reserve(k, chunk * 4, 12) as [number, number];
  const inView = new Float32Array(k.memory.buffer, inPtr, chunk);
  const outF32 = new Float32Array(k.memory.buffer, outPtr, 2);
  const outI32 = new Int32Array(k.memory.buffer, outPtr + 8, 1);
  let min = Infinity;
  let max = -Infinity;
  let nanCount = 0;
  for (let start = 0; start < n; start += chunk) {
    const len = Math.min(chunk, n - start);
    inView.set(src.subarray(start, start + len));
    k.min_max(inPtr, len, outPtr);
    min = Math.min(min, outF32[0] as number);
    max = Math.max(max, outF32[1] as number);
    nanCount += outI32[0] as number;
  }
  return { min, max, nanCount };
}

function minMaxJs(src: Float32Array): MinMax {
  let min = Infinity;
  let max = -Infinity;
  let nanCount = 0;
  for (let i = 0; i < src.length; i++) {
    const x = src[i] as number;
    if (x !== x) nanCount++;
    else {
      if (x < min) min = x;
      if (x > max) max = x;
    }
  }
  return { min, max, nanCount };
}
