import type { TypeProto } from '../proto/types.js';
import { dtypeName } from '../dtype.js';

/**
 * The type of a value as far as element types go. For a sequence or an optional, `elemType` is the
 * element type of the tensors inside; for a map, the type of its values; 0 when that is not a tensor
 * (a sequence of maps, for instance) or not known.
 */
export interface ValueType {
  kind: 'tensor' | 'sparse_tensor' | 'sequence' | 'optional' | 'map';
  elemType: number;
  /** For an optional: what it holds when present (a tensor unless said otherwise). */
  inner?: 'tensor' | 'sequence';
}

export function tensorOf(elemType: number): ValueType {
  return { kind: 'tensor', elemType };
}

/** The element type of a dense or sparse tensor; undefined for sequences, optionals, maps and unknown types. */
export function tensorElemType(t: ValueType | undefined): number | undefined {
  return t && (t.kind === 'tensor' || t.kind === 'sparse_tensor') && t.elemType ? t.elemType : undefined;
}

export function sameValueType(a: ValueType | undefined, b: ValueType | undefined): boolean {
  return !!a && !!b && a.kind === b.kind && a.elemType === b.elemType && (a.inner ?? 'tensor') === (b.inner ?? 'tensor');
}

/** An optional holding a value of type `t`. */
export function optionalOf(t: ValueType): ValueType {
  const o: ValueType = { kind: 'optional', elemType: t.elemType };
  if (t.kind === 'sequence') o.inner = 'sequence';
  return o;
}

/** The ValueType a TypeProto declares, or undefined when it declares no element type at all. */
export function valueTypeOf(type: TypeProto | null | undefined): ValueType | undefined {
  if (!type) return undefined;
  if (type.tensorType) return type.tensorType.elemType ? tensorOf(type.tensorType.elemType) : undefined;
  if (type.sparseTensorType) return type.sparseTensorType.elemType ? { kind: 'sparse_tensor', elemType: type.sparseTensorType.elemType } : undefined;
  if (type.sequenceType) {
    const inner = valueTypeOf(type.sequenceType.elemType);
    return { kind: 'sequence', elemType: inner && (inner.kind === 'tensor' || inner.kind === 'sparse_tensor') ? inner.elemType : 0 };
  }
  if (type.optionalType) {
    const inner = valueTypeOf(type.optionalType.elemType);
    return inner && inner.kind !== 'map' && inner.kind !== 'optional' ? optionalOf(inner) : { kind: 'optional', elemType: 0 };
  }
  if (type.mapType) {
    const inner = valueTypeOf(type.mapType.valueType);
    return { kind: 'map', elemType: inner?.kind === 'tensor' ? inner.elemType : 0 };
  }
  return undefined;
}

/** `float32`, `seq(float32)`, `optional(int64)`… for messages. */
export function formatValueType(t: ValueType | undefined): string {
  if (!t) return 'unknown';
  const e = t.elemType ? dtypeName(t.elemType) : '?';
  switch (t.kind) {
    case 'tensor': return e;
    case 'sparse_tensor': return `sparse(${e})`;
    case 'sequence': return `seq(${e})`;
    case 'optional': return t.inner === 'sequence' ? `optional(seq(${e}))` : `optional(${e})`;
    case 'map': return `map(${e})`;
  }
}
