import { castEvaluator } from './cast.js';
import { dequantizeLinearEvaluator } from './dequantize-linear.js';
import type { Evaluator } from './evaluator.js';
import { flattenEvaluator, identityEvaluator, reshapeEvaluator, squeezeEvaluator, unsqueezeEvaluator } from './new-dims.js';
import { quantizeLinearEvaluator } from './quantize-linear.js';
import { transposeEvaluator } from './transpose.js';

export type { Evaluate, Evaluator } from './evaluator.js';

/** Every op the pass evaluates, by ai.onnx op type. */
export const EVALUATORS: ReadonlyMap<string, Evaluator> = new Map(
  [castEvaluator, dequantizeLinearEvaluator, quantizeLinearEvaluator, identityEvaluator, reshapeEvaluator, flattenEvaluator, squeezeEvaluator, unsqueezeEvaluator, transposeEvaluator].map((e) => [e.opType, e]),
);
