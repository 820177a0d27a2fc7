// PLACEHOLDER: being implemented. Export the passes of this folder here, and list their factories in
// `fp16Passes` so builtin-passes.ts registers them.
import type { PassFactory } from '@onnx-forge/core';

export const fp16Passes: readonly PassFactory<never>[] = [];
