import { PassRegistry } from '@onnx-forge/core';
import { cleanupPasses, cleanupPipeline } from './cleanup/index.js';
import { fp16Passes } from './fp16/index.js';
import { opsetPasses } from './opset/index.js';
import { quantPasses } from './quant/index.js';

/** Every pass built into graph-ops, in a plain list. */
export const builtinPasses = [...cleanupPasses, ...fp16Passes, ...quantPasses, ...opsetPasses];

/** The built-in named pipelines (several passes under one name). */
export const builtinPipelines = [cleanupPipeline];

/** A registry holding the built-in passes and pipelines (add plugin passes with `register`). */
export function createBuiltinRegistry(): PassRegistry {
  return new PassRegistry([...builtinPasses, ...builtinPipelines]);
}
