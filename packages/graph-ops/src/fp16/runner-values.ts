import { float16BitsToFloat32 } from '@onnx-forge/core';
import type { RunnerTensor } from '@onnx-forge/core';

/** Values of a runner tensor as numbers (float16 bits decoded, int64 through Number, strings kept). */
export function runnerValues(t: RunnerTensor): (number | string)[] {
  const d = t.data as ArrayLike<number | bigint | string>;
  const out: (number | string)[] = new Array(d.length);
  for (let i = 0; i < d.length; i++) {
    const v = d[i] as number | bigint | string;
    out[i] = t.type === 'float16' ? float16BitsToFloat32(v as number) : typeof v === 'bigint' ? Number(v) : v;
  }
  return out;
}
