import { ForgeError, ForgeErrorCode, float32ArrayToFloat16 } from '@onnx-forge/core';
import { fromFloat16, isFloat16Array, type FeedValue, type Feeds, type TensorLike, type ValueInfo } from '@onnx-forge/runtime';

/** float16 data as bits (Uint16Array) or as values in a Float16Array (onnxruntime-web in Chromium). */
export function isFloat16Data(data: unknown): data is ArrayLike<number> {
  return data instanceof Uint16Array || isFloat16Array(data);
}

/**
 * Feeds made for one variant, as another variant takes them: a float32 input becomes float16 for a
 * variant converted without keeping its I/O types (fp16's default), and a float16 one float32 for a
 * variant that takes float32. Other inputs, and values given as a bare typed array (no dims to carry),
 * pass as they are.
 */
export function feedsForSession(feeds: Feeds, inputs: readonly ValueInfo[]): Feeds {
  // Not an object of inputs at all: the request's fault (FORGE_BAD_INPUT, not counted against the
  // backend), as the session's own check says of every other bad feed; a TypeError here opened breakers.
  if (typeof feeds !== 'object' || feeds === null || Array.isArray(feeds)) {
    throw new ForgeError(ForgeErrorCode.BAD_INPUT, `feeds must be an object of named inputs, got ${feeds === null ? 'null' : Array.isArray(feeds) ? 'an array' : typeof feeds}`);
  }
  const out: Record<string, FeedValue> = {};
  for (const [name, value] of Object.entries(feeds)) {
    const want = inputs.find((i) => i.name === name)?.type;
    out[name] = convertFloat(value, want);
  }
  return out;
}

function convertFloat(value: FeedValue, want: string | undefined): FeedValue {
  if (want !== 'float16' && want !== 'float32') return value;
  if (ArrayBuffer.isView(value) || typeof value !== 'object' || value === null) return value;
  const t = value as { readonly type?: string; readonly dims?: readonly number[]; readonly shape?: readonly number[]; readonly data: unknown };
  const dims = t.dims ?? t.shape;
  if (dims === undefined) return value;
  if (want === 'float16' && (t.type ?? 'float32') === 'float32' && t.data instanceof Float32Array) return { type: 'float16', dims, data: float32ArrayToFloat16(t.data) };
  if (want === 'float32' && t.type === 'float16' && isFloat16Data(t.data)) return { type: 'float32', dims, data: fromFloat16(t.data) };
  return value;
}

/** Whether feedsForSession rounded any of `feeds` to float16 in `given`: their caller speaks float32. */
export function roundedToFloat16(feeds: Feeds, given: Feeds): boolean {
  return Object.entries(given).some(([name, v]) => v !== feeds[name] && (v as { type?: string }).type === 'float16');
}

/** Outputs with every float16 tensor decoded to float32 (the others as they are). */
export function float32Outputs<T extends TensorLike>(outputs: Record<string, T>): Record<string, T | TensorLike> {
  let out: Record<string, T | TensorLike> | undefined;
  for (const [name, t] of Object.entries(outputs)) {
    if (t.type !== 'float16' || !isFloat16Data(t.data)) continue;
    out ??= { ...outputs };
    out[name] = { type: 'float32', dims: t.dims, data: fromFloat16(t.data) };
  }
  return out ?? outputs;
}
