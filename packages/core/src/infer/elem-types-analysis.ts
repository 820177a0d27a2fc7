import { defineAnalysis } from '../ir/analysis.js';
import { inferElemTypes, type ElemTypes } from './infer-elem-types.js';

/** Element types of every value of the model, cached on it: `model.analysis(ELEM_TYPES)`. */
export const ELEM_TYPES = defineAnalysis<ElemTypes>('elemTypes', inferElemTypes);
