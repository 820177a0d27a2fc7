import { cosineSimilarity } from '@onnx-forge/core';
import type { RunnerTensor } from '@onnx-forge/core';
import { runnerValues } from '../fp16/runner-values.js';

export { runnerValues };

/**
 * Where `actual` differs from `expected` beyond |a - e| <= atol + rtol * |e| (NaN matches NaN,
 * infinities must match exactly), or undefined when they agree. Shapes must agree too.
 */
export function mismatch(actual: RunnerTensor, expected: RunnerTensor, rtol: number, atol: number): string | undefined {
  if (actual.dims.length !== expected.dims.length || actual.dims.some((d, i) => d !== expected.dims[i])) {
    return `shape [${actual.dims.join(',')}] vs expected [${expected.dims.join(',')}]`;
  }
  const a = runnerValues(actual);
  const e = runnerValues(expected);
  if (a.length !== e.length) return `${a.length} values vs ${e.length}`;
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number | string;
    const y = e[i] as number | string;
    if (typeof x === 'string' || typeof y === 'string') {
      if (x !== y) return `string ${i}: ${String(x)} vs ${String(y)}`;
      continue;
    }
    if (Number.isNaN(y)) {
      if (!Number.isNaN(x)) return `value ${i}: ${x} vs expected NaN`;
      continue;
    }
    if (!Number.isFinite(y)) {
      if (x !== y) return `value ${i}: ${x} vs expected ${y}`;
      continue;
    }
    const excess = Math.abs(x - y) - (atol + rtol * Math.abs(y));
    if (!(excess <= 0) && (worst < 0 || excess > worstExcess || Number.isNaN(excess))) {
      worst = i;
      worstExcess = Number.isNaN(excess) ? Infinity : excess;
    }
  }
  if (worst >= 0) return `value ${worst}: ${a[worst]} vs expected ${e[worst]} (beyond rtol ${rtol}, atol ${atol})`;
  return undefined;
}

/** Cosine similarity of two runner tensors' values (1 when both are all zeros). */
export function cosine(a: RunnerTensor, b: RunnerTensor): number {
  return cosineSimilarity(runnerValues(a) as number[], runnerValues(b) as number[]);
}
