import type { PassFactory } from '@onnx-forge/core';
import { fp16AutoPass } from './fp16-auto.js';
import { fp16Pass } from './fp16-pass.js';

export { fp16Pass, convertToFp16 } from './fp16-pass.js';
export type { Fp16Report } from './fp16-pass.js';
export type { Fp16Counts } from './convert-to-fp16.js';
export { fp16AutoPass, autoMixedPrecision, fp16AutoOutcome, FP16_AUTO_METRICS, FP16_AUTO_OPTION_SPECS } from './fp16-auto.js';
export type { Fp16AutoOptions, Fp16AutoMetric, Fp16AutoResult, Fp16AutoOutcome } from './fp16-auto.js';
export { float16Feeds } from './float16-feeds.js';
export { FP16_OPTION_SPECS } from './fp16-options.js';
export type { Fp16Options } from './fp16-options.js';
export { FP16_TARGETS, fp16KernelVerdict } from '../tables/fp16-support.js';
export type { Fp16Target, KernelVerdict } from '../tables/fp16-support.js';

export const fp16Passes: readonly PassFactory<never>[] = [fp16Pass, fp16AutoPass] as unknown as readonly PassFactory<never>[];
