export { int4, quantizeInt4, int4Report, runInt4 } from './int4.js';
export type { Int4Report, Int4Bytes } from './int4.js';
export { INT4_OPS, INT4_OPTION_SPECS, ACCURACY_LEVELS } from './int4-options.js';
export type { Int4Options, Int4Op } from './int4-options.js';
export { INT4_TARGET_FORMS } from './int4-forms.js';
export type { Int4TargetForms } from './int4-forms.js';
export { quantizeBlocks, dequantizeBlocks } from './block-quantize.js';
export type { BlockQuantized, BlockQuantizeOptions, Int4Method } from './block-quantize.js';
