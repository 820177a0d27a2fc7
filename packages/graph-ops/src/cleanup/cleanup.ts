import { definePipeline } from '@onnx-forge/core';

/**
 * `cleanup`: identity, cast-fold, dead-code and toposort, in that order, as a named pipeline: each
 * runs as its own pass, so the checker runs after each and each reports what it did.
 */
export const cleanupPipeline = definePipeline({
  name: 'cleanup',
  description: 'identity, cast-fold, dead-code and toposort, in that order',
  steps: 'identity,cast-fold,dead-code,toposort',
});
