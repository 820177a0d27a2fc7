import { PassRegistry } from '@onnx-forge/core';
import { cleanupPasses } from './cleanup/index.js';
import { fp16Passes } from './fp16/index.js';
import { opsetPasses } from './opset/index.js';
import { quantPasses } from './quant/index.js';

/** Every pass built into graph-ops, in a plain list. */
export const builtinPasses = [...cleanupPasses, ...fp16Passes, ...quantPasses, ...opsetPasses];

/** A registry holding the built-in passes (add plugin passes with `register`). */
export function createBuiltinRegistry(): PassRegistry {
  return new PassRegistry(builtinPasses);
}
