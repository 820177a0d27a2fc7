import type { PassFactory } from '@onnx-forge/core';
import { fp16Pass } from './fp16-pass.js';

export { fp16Pass } from './fp16-pass.js';
export { convertToFp16 } from './convert-to-fp16.js';
export type { Fp16Report, Fp16Sink } from './convert-to-fp16.js';
export { FP16_OPTION_SPECS, resolveFp16Options } from './fp16-options.js';
export type { Fp16Options } from './fp16-options.js';
export { FP16_TARGETS, fp16KernelVerdict } from '../tables/fp16-support.js';
export type { Fp16Target, KernelVerdict } from '../tables/fp16-support.js';

export const fp16Passes: readonly PassFactory<never>[] = [fp16Pass as unknown as PassFactory<never>];
