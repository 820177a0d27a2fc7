import { Model, decodeModel } from '@onnx-forge/core';
import { probeInt8Arithmetic } from './int8-arithmetic.js';
import type { Int8Fit } from './precision.js';

/** The metadata key graph-ops' INT8 passes write (quant/isa-forms.ts INT8_METADATA.saturationSafe). */
export const SATURATION_SAFE_KEY = 'onnx-forge.int8.saturation-safe';

/** Whether an int8 model's weights say they stay within int16 pairs, from its metadata (undefined when silent). */
export function saturationSafeOf(model: Uint8Array): boolean | undefined {
  try {
    const value = new Model(decodeModel(model)).metadata(SATURATION_SAFE_KEY);
    return value === 'yes' ? true : value === 'no' ? false : undefined;
  } catch {
    // A model the codec cannot read is onnxruntime's to reject, with its own message.
    return undefined;
  }
}

/** How well an int8 variant fits this CPU's int8 kernels (probe once per process, metadata per variant). */
export async function int8Fit(model: Uint8Array | string): Promise<Int8Fit> {
  const { arithmetic } = await probeInt8Arithmetic();
  if (arithmetic === 'exact') return { arithmetic, saturationSafe: undefined };
  let bytes: Uint8Array;
  if (typeof model === 'string') {
    const { readFile } = await import('node:fs/promises');
    bytes = await readFile(model);
  } else {
    bytes = model;
  }
  return { arithmetic, saturationSafe: saturationSafeOf(bytes) };
}
