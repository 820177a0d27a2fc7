export { compareModels } from './compare-models.js';
export type { OutputAgreement } from './compare-models.js';
export { outputDifference, DIFFERENCE_METRICS } from './output-difference.js';
export type { DifferenceMetric } from './output-difference.js';
export { searchMixedPrecision, nameNodes } from './precision-search.js';
export type { PrecisionSearchSpec, PrecisionSearchResult } from './precision-search.js';
export { HEADROOM_SCALES, firstOverflow, headroomFailures, headroomWhat } from './fp16-headroom.js';
export type { Fp16Headroom, HeadroomFailure, InputSpread } from './fp16-headroom.js';
