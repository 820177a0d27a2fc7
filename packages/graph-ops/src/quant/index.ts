// PLACEHOLDER: being implemented. Export the passes of this folder here, and list their factories in
// `quantPasses` so builtin-passes.ts registers them.
import type { PassFactory } from '@onnx-forge/core';

export const quantPasses: readonly PassFactory<never>[] = [];
