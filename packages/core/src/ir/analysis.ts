import type { Model } from './model.js';

/**
 * A fact computed from a whole model (element types, ...) that passes and the checker share. The
 * model caches each analysis until the graph changes; a pass that changes the graph without changing
 * what an analysis says (a sort, removing dead nodes) declares it in `preserves`, and the PassManager
 * keeps the cached result (MLIR's preserved analyses).
 */
export interface AnalysisKey<T> {
  readonly name: string;
  compute(model: Model): T;
}

export function defineAnalysis<T>(name: string, compute: (model: Model) => T): AnalysisKey<T> {
  return Object.freeze({ name, compute });
}
