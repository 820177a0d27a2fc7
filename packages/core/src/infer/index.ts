export { inferElemTypes } from './infer-elem-types.js';
export { ELEM_TYPES } from './elem-types-analysis.js';
export type { ElemTypes, UnknownType } from './infer-elem-types.js';
export { formatValueType, sameValueType, tensorElemType, tensorOf, valueTypeOf } from './value-type.js';
export type { ValueType } from './value-type.js';
export { firstFloat16Compute } from './float16-compute.js';
export type { Float16Compute } from './float16-compute.js';
export { firstJsepMiscompute } from './jsep-miscompute.js';
export type { JsepMiscompute } from './jsep-miscompute.js';
