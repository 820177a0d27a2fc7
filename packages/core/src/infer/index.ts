import type { Graph } from '../ir/graph.js';
import type { Model } from '../ir/model.js';

/** A value whose element type could not be inferred, and why (never skipped silently). */
export interface UnknownType {
  graph: string;
  value: string;
  node?: string;
  opType?: string;
  reason: string;
}

/** Element types (ONNX DataType numbers) of every value of every graph of a model. */
export interface ElemTypes {
  /** The element type of `name` as seen from `graph` (looks through enclosing scopes). */
  get(graph: Graph, name: string): number | undefined;
  /** Values whose type is unknown, with the reason. */
  readonly unknown: readonly UnknownType[];
}

/**
 * Infers element types over ai.onnx and common com.microsoft ops, through subgraphs and functions.
 * PLACEHOLDER (being implemented): today only declared types (inputs, initializers, value_info).
 */
export function inferElemTypes(model: Model): ElemTypes {
  const unknown: UnknownType[] = [];
  return {
    get: (graph, name) => graph.declaredElemType(name),
    unknown,
  };
}
