/** One formal input or output of an operator. */
export interface FormalParam {
  name: string;
  /** Key into `OpSchema.typeConstraints`. */
  typeVar: string;
  option: 'single' | 'optional' | 'variadic';
  /** Variadic only: the fewest values it takes (ONNX default 1; Loop's loop-carried inputs take 0). */
  minArity?: number;
  /**
   * Variadic only: each value may have its own type (If/Loop/Scan outputs, Loop inputs). A
   * homogeneous variadic binds one type for all its values.
   */
  heterogeneous?: boolean;
}

/** An attribute of an operator: its AttributeType number and whether it must be present. */
export interface AttrSpec {
  type: number;
  required: boolean;
}

/**
 * What a type variable stands for when it is not a plain tensor: a sequence of tensors, an optional
 * (of a tensor or a sequence), a map, or any of these (Identity, If and Loop outputs from opset 14/16).
 * The allowed numbers in `typeConstraints` are then the element types of the tensors inside.
 */
export type TypeContainer = 'sequence' | 'optional' | 'map' | 'any';

export interface OpSchema {
  domain: string;
  opType: string;
  sinceVersion: number;
  inputs: FormalParam[];
  outputs: FormalParam[];
  /**
   * Allowed element types (DataType numbers) per type variable; a fixed-type parameter such as
   * tensor(float) or tensor(int64) gets its own variable with one allowed type.
   */
  typeConstraints: Record<string, readonly number[]>;
  attributes: Record<string, AttrSpec>;
  /** Min/max input and output counts (variadic aware; a variadic gives `Infinity` as max). */
  minInputs: number;
  maxInputs: number;
  minOutputs: number;
  maxOutputs: number;
  /** Type variables that are not plain tensors (see `TypeContainer`); absent when all are tensors. */
  containers?: Record<string, TypeContainer>;
  /**
   * The schema is an onnxruntime contrib registration in a standard domain (for example
   * LayerNormalization in ai.onnx before opset 17), known to onnxruntime but not to the ONNX spec.
   */
  runtimeOnly?: boolean;
  /** The operator was removed from the ONNX spec at this opset (onnxruntime may still load it). */
  deprecatedSince?: number;
}

/** The canonical spelling of a domain: the default ONNX domain is ''. */
export function canonicalDomain(domain: string | null | undefined): string {
  return !domain || domain === 'ai.onnx' ? '' : domain;
}

/** The formal parameter that actual input or output `i` binds to: a trailing variadic takes every later one. */
export function paramAt(params: readonly FormalParam[], i: number): FormalParam | undefined {
  let k = 0;
  for (const p of params) {
    if (p.option === 'variadic') return p;
    if (k === i) return p;
    k++;
  }
  return undefined;
}
