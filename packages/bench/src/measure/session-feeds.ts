import { float16ArrayToFloat32, float32ArrayToFloat16, type RunnerFeeds, type RunnerTensor } from '@onnx-forge/core';
import type { Feeds, TensorLike, ValueInfo } from '@onnx-forge/runtime';

/**
 * Feeds made for one variant, as another variant takes them: a float32 input of the reference becomes
 * float16 for a variant converted without keeping its I/O types, and back. Other inputs pass as they are.
 */
export function feedsForSession(feeds: RunnerFeeds, inputs: readonly ValueInfo[]): Feeds {
  const out: Record<string, TensorLike> = {};
  for (const [name, t] of Object.entries(feeds)) {
    const want = inputs.find((i) => i.name === name)?.type;
    out[name] = convertFloat(t, want);
  }
  return out;
}

function convertFloat(t: RunnerTensor, want: string | undefined): TensorLike {
  if (want === 'float16' && t.type === 'float32') return { type: 'float16', dims: t.dims, data: float32ArrayToFloat16(t.data as Float32Array) };
  if (want === 'float32' && t.type === 'float16') return { type: 'float32', dims: t.dims, data: float16ArrayToFloat32(t.data as Uint16Array) };
  return t;
}
