import type { RunnerFeeds, RunnerTensor } from '@onnx-forge/core';

/** How far one output of the folded model is from the original's. */
export interface OutputDifference {
  output: string;
  /** Largest |folded - original| over elements, relative to the largest |original| (0 for an exact match). */
  relative: number;
  /** What is wrong beyond a numeric difference, said of the folded output ("is missing", "gives Infinity at element 3 ..."). */
  mismatch?: string;
}

function sameValue(a: unknown, b: unknown): boolean {
  return Object.is(a, b) || a === b;
}

function difference(output: string, want: RunnerTensor, got: RunnerTensor | undefined): OutputDifference {
  if (!got) return { output, relative: Infinity, mismatch: 'is missing' };
  if (got.type !== want.type || got.dims.join(',') !== want.dims.join(',') || got.data.length !== want.data.length) {
    return { output, relative: Infinity, mismatch: `is ${got.type}[${got.dims.join(',')}] where the original gives ${want.type}[${want.dims.join(',')}]` };
  }
  if (want.type !== 'float32' && want.type !== 'float64' && want.type !== 'float16') {
    // Integers, booleans and strings must match exactly.
    for (let i = 0; i < want.data.length; i++) if (!sameValue(want.data[i], got.data[i])) return { output, relative: Infinity, mismatch: `differs at element ${i}` };
    return { output, relative: 0 };
  }
  if (want.type === 'float16') {
    // Bit patterns: only an exact match is judged.
    for (let i = 0; i < want.data.length; i++) if (want.data[i] !== got.data[i]) return { output, relative: Infinity, mismatch: `differs at element ${i} (float16 bits)` };
    return { output, relative: 0 };
  }
  const a = want.data as Float32Array | Float64Array;
  const b = got.data as Float32Array | Float64Array;
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (Number.isNaN(x) || Number.isNaN(y)) {
      if (Number.isNaN(x) !== Number.isNaN(y)) return { output, relative: Infinity, mismatch: `is NaN at element ${i} in one model only` };
      continue;
    }
    if (x === y) continue;
    if (!Number.isFinite(x) || !Number.isFinite(y)) return { output, relative: Infinity, mismatch: `gives ${y} at element ${i} where the original gives ${x}` };
    scale = Math.max(scale, Math.abs(x));
    worst = Math.max(worst, Math.abs(x - y));
  }
  return { output, relative: worst === 0 ? 0 : worst / (scale || 1) };
}

/** Each output of the original against the folded model's. */
export function compareOutputs(want: RunnerFeeds, got: RunnerFeeds): OutputDifference[] {
  return Object.entries(want).map(([name, tensor]) => difference(name, tensor, got[name]));
}
