import type { Model } from '../ir/model.js';
import type { CheckProblem } from './problem.js';

/**
 * Compares declared element types with inferred ones. (Filled in with dtype inference.)
 */
export function checkTypes(_model: Model, _problems: CheckProblem[]): void {
  // placeholder until dtype inference lands
}
