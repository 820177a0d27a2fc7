import type { PassFactory } from '@onnx-forge/core';
import { int8Dynamic } from './int8-dynamic.js';

export { int8Dynamic, quantizeDynamic } from './int8-dynamic.js';
export { QUANTIZABLE_OPS, quantOptionSpecs, staticOptionSpecs } from './quant-options.js';
export type { DynamicQuantOptions, QuantOptions, StaticQuantOptions, QuantizableOp } from './quant-options.js';
export { TARGET_FORMS, QUANT_TARGETS } from './target-forms.js';
export type { QuantTarget, TargetForms } from './target-forms.js';
export { floatTensorNotes } from './quant-report.js';
export type { QuantReport, QuantCoverage, FloatTensorNote } from './quant-report.js';

/** The INT8 passes, registered by builtin-passes.ts. */
export const quantPasses: readonly PassFactory<never>[] = [int8Dynamic as unknown as PassFactory<never>];
