import { axisLayout, useRuns } from './axis-layout.js';
import type { AxisLayout } from './axis-layout.js';
import { wasmKernels } from './kernel-instance.js';
import type { KernelExports } from './kernel-instance.js';
import { chunkLength, reserve } from './kernel-memory.js';

export interface AxisRange {
  /** Per channel along the axis; +Infinity for a channel with no non-NaN value. */
  min: Float32Array;
  /** Per channel along the axis; -Infinity for a channel with no non-NaN value. */
  max: Float32Array;
}

/**
 * Range of every channel along `axis` of a tensor with shape `dims`, NaN ignored: per-channel ranges
 * for Conv weights (axis 0) and MatMul weights (axis 1).
 */
export function rangePerAxis(src: Float32Array, dims: readonly number[], axis: number): AxisRange {
  const layout = axisLayout(src.length, dims, axis, 'rangePerAxis');
  const min = new Float32Array(layout.channels).fill(Infinity);
  const max = new Float32Array(layout.channels).fill(-Infinity);
  const kernels = wasmKernels(src.length);
  if (!kernels || src.length === 0) rangeJs(src, layout, min, max);
  else if (useRuns(layout)) rangeRunsWasm(kernels, src, layout, min, max);
  else rangeRowsWasm(kernels, src, layout, min, max);
  return { min, max };
}

function rangeRunsWasm(k: KernelExports, src: Float32Array, { channels, inner }: AxisLayout, min: Float32Array, max: Float32Array): void {
  const n = src.length;
  const chunk = chunkLength(n);
  const [inPtr, minPtr, maxPtr] = reserve(k, chunk * 4, channels * 4, channels * 4) as [number, number, number];
  const buffer = k.memory.buffer;
  const inView = new Float32Array(buffer, inPtr, chunk);
  const minView = new Float32Array(buffer, minPtr, channels);
  const maxView = new Float32Array(buffer, maxPtr, channels);
  minView.set(min);
  maxView.set(max);
  for (let start = 0; start < n; start += chunk) {
    const len = Math.min(chunk, n - start);
    inView.set(src.subarray(start, start + len));
    k.range_runs(inPtr, len, minPtr, maxPtr, channels, inner, Math.floor(start / inner) % channels, start % inner);
  }
  min.set(minView);
  max.set(maxView);
}

/** Short runs: element-wise ranges over rows of channels × inner, then reduced over inner. */
function rangeRowsWasm(k: KernelExports, src: Float32Array, { channels, inner }: AxisLayout, min: Float32Array, max: Float32Array): void {
  const n = src.length;
  const row = channels * inner;
  const chunk = chunkLength(n);
  const [inPtr, minPtr, maxPtr] = reserve(k, chunk * 4, row * 4, row * 4) as [number, number, number];
  const buffer = k.memory.buffer;
  const inView = new Float32Array(buffer, inPtr, chunk);
  const accMin = new Float32Array(buffer, minPtr, row).fill(Infinity);
  const accMax = new Float32Array(buffer, maxPtr, row).fill(-Infinity);
  for (let start = 0; start < n; start += chunk) {
    const len = Math.min(chunk, n - start);
    inView.set(src.subarray(start, start + len));
    k.range_rows(inPtr, len, minPtr, maxPtr, row, start % row);
  }
  for (let j = 0; j < row; j++) {
    const c = Math.floor(j / inner);
    if ((accMin[j] as number) < (min[c] as number)) min[c] = accMin[j] as number;
    if ((accMax[j] as number) > (max[c] as number)) max[c] = accMax[j] as number;
  }
}

function rangeJs(src: Float32Array, { channels, inner }: AxisLayout, min: Float32Array, max: Float32Array): void {
  let i = 0;
  while (i < src.length) {
    for (let c = 0; c < channels; c++) {
      let lo = min[c] as number;
      let hi = max[c] as number;
      for (const end = i + inner; i < end; i++) {
        const x = src[i] as number;
        if (x < lo) lo = x;
        if (x > hi) hi = x;
      }
      min[c] = lo;
      max[c] = hi;
    }
  }
}
