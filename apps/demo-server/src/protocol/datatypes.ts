import type { ElementType } from '@onnx-forge/runtime';

/**
 * Tensor datatypes of the Open Inference Protocol and onnxruntime's element types. BF16 has no
 * onnxruntime-node tensor type, so it is not offered.
 */
export const V2_DATATYPES = ['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES'] as const;
export type V2Datatype = (typeof V2_DATATYPES)[number];

const TO_ELEMENT: Readonly<Record<V2Datatype, ElementType>> = {
  BOOL: 'bool', UINT8: 'uint8', UINT16: 'uint16', UINT32: 'uint32', UINT64: 'uint64',
  INT8: 'int8', INT16: 'int16', INT32: 'int32', INT64: 'int64',
  FP16: 'float16', FP32: 'float32', FP64: 'float64', BYTES: 'string',
};

const TO_V2 = new Map<string, V2Datatype>(Object.entries(TO_ELEMENT).map(([v2, el]) => [el, v2 as V2Datatype]));

/** Bytes per element in the binary tensor extension (BYTES elements are length-prefixed, so none). */
const ELEMENT_BYTES: Readonly<Record<V2Datatype, number | undefined>> = {
  BOOL: 1, UINT8: 1, UINT16: 2, UINT32: 4, UINT64: 8, INT8: 1, INT16: 2, INT32: 4, INT64: 8, FP16: 2, FP32: 4, FP64: 8, BYTES: undefined,
};

export function isV2Datatype(x: unknown): x is V2Datatype {
  return typeof x === 'string' && (V2_DATATYPES as readonly string[]).includes(x);
}

export function elementTypeOf(datatype: V2Datatype): ElementType {
  return TO_ELEMENT[datatype];
}

/** The protocol's name for an onnxruntime element type, or undefined for types it cannot carry. */
export function v2DatatypeOf(type: string | undefined): V2Datatype | undefined {
  return type === undefined ? undefined : TO_V2.get(type);
}

export function elementBytes(datatype: V2Datatype): number | undefined {
  return ELEMENT_BYTES[datatype];
}

/**
 * Floating-point values that JSON has no number for, as strings (the JSON mapping of protobuf writes
 * them so): taken in FP16, FP32 and FP64 data, and how the response writes them back.
 */
export const NON_FINITE: ReadonlyMap<string, number> = new Map([['NaN', Number.NaN], ['Infinity', Infinity], ['-Infinity', -Infinity]]);
