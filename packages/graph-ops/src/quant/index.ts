import type { PassFactory } from '@onnx-forge/core';
import { int8Dynamic } from './int8-dynamic.js';
import { int8Static } from './int8-static.js';
import { int8Auto } from './int8-auto.js';
import { int4 } from './int4/int4.js';

export { int8Dynamic, quantizeDynamic } from './int8-dynamic.js';
export { int8Static, quantizeStatic } from './int8-static.js';
export { int8Auto, autoQuantize, int8AutoOutcome, INT8_AUTO_OPTION_SPECS } from './int8-auto.js';
export type { Int8AutoOptions, Int8AutoResult, Int8AutoOutcome } from './int8-auto.js';
export { loadSamples, iterateSamples } from './samples/load-samples.js';
export type { LoadSamplesOptions } from './samples/load-samples.js';
export { modelInputSpecs, validateFeeds } from './samples/validate-feeds.js';
export type { SampleInputSpec } from './samples/validate-feeds.js';
export { parseNpy } from './samples/parse-npy.js';
export { DEFAULT_OPS, QUANTIZABLE_OPS, quantOptionSpecs, staticOptionSpecs } from './quant-options.js';
export type { DynamicQuantOptions, NodeSelectionOptions, QuantOptions, StaticQuantOptions, QuantizableOp } from './quant-options.js';
export { TARGET_FORMS, QUANT_TARGETS } from './target-forms.js';
export { INT8_ISAS, INT8_METADATA, SATURATION_SAFE_CODE, weightRange } from './isa-forms.js';
export type { Int8Isa, WeightRangeChoice, WeightRangeOptions } from './isa-forms.js';
export { exactDot, saturatingPairDot, int8WeightRisks } from './saturation-check.js';
export type { Int8WeightRisk } from './saturation-check.js';
export type { QuantTarget, TargetForms } from './target-forms.js';
export { floatTensorNotes, QuantAction } from './quant-report.js';
export type { QuantReport, QuantReportBase, QuantCoverage, FloatTensorNote } from './quant-report.js';
export * from './int4/index.js';

/** The INT8 passes and int4, registered by builtin-passes.ts. */
export const quantPasses: readonly PassFactory<never>[] = [
  int8Dynamic as unknown as PassFactory<never>,
  int8Static as unknown as PassFactory<never>,
  int8Auto as unknown as PassFactory<never>,
  int4 as unknown as PassFactory<never>,
];
