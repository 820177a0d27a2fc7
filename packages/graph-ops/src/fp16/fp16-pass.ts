import { definePass, initKernels } from '@onnx-forge/core';
import { convertToFp16 } from './convert-to-fp16.js';
import { FP16_OPTION_SPECS, checkFp16Options, type Fp16Options } from './fp16-options.js';

/**
 * `fp16`: float32 → float16 with block/include lists, target-aware kernel tables, clamped constants and
 * a decision for every node (see convertToFp16).
 */
export const fp16Pass = definePass<Fp16Options>({
  name: 'fp16',
  description: 'convert float32 weights and compute to float16 where the op schema and the target runtime allow it',
  options: FP16_OPTION_SPECS,
  check: checkFp16Options,
  async run(model, options, ctx) {
    // A browser main thread cannot compile the wasm kernels synchronously; Node can, so this is free there.
    await initKernels();
    convertToFp16(model, options, ctx);
  },
});
