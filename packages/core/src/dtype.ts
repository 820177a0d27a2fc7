import { ForgeError, ForgeErrorCode } from './errors.js';
import { TensorProto_DataType } from './proto/types.js';

/** ONNX tensor element types (TensorProto.DataType), as generated from the package's onnx.proto. */
export const DataType = TensorProto_DataType;
export type DataType = TensorProto_DataType;

/** Short lower-case names, as numpy and onnxruntime-web spell them. */
export type DTypeName =
  | 'undefined' | 'float32' | 'uint8' | 'int8' | 'uint16' | 'int16' | 'int32' | 'int64' | 'string'
  | 'bool' | 'float16' | 'float64' | 'uint32' | 'uint64' | 'complex64' | 'complex128' | 'bfloat16'
  | 'float8e4m3fn' | 'float8e4m3fnuz' | 'float8e5m2' | 'float8e5m2fnuz' | 'uint4' | 'int4' | 'float4e2m1';

interface DTypeInfo {
  name: DTypeName;
  /** Bits per element in raw_data (0 for string). */
  bits: number;
  float: boolean;
  signed: boolean;
}

const INFO: Record<number, DTypeInfo> = {
  0: { name: 'undefined', bits: 0, float: false, signed: false },
  1: { name: 'float32', bits: 32, float: true, signed: true },
  2: { name: 'uint8', bits: 8, float: false, signed: false },
  3: { name: 'int8', bits: 8, float: false, signed: true },
  4: { name: 'uint16', bits: 16, float: false, signed: false },
  5: { name: 'int16', bits: 16, float: false, signed: true },
  6: { name: 'int32', bits: 32, float: false, signed: true },
  7: { name: 'int64', bits: 64, float: false, signed: true },
  8: { name: 'string', bits: 0, float: false, signed: false },
  9: { name: 'bool', bits: 8, float: false, signed: false },
  10: { name: 'float16', bits: 16, float: true, signed: true },
  11: { name: 'float64', bits: 64, float: true, signed: true },
  12: { name: 'uint32', bits: 32, float: false, signed: false },
  13: { name: 'uint64', bits: 64, float: false, signed: false },
  14: { name: 'complex64', bits: 64, float: true, signed: true },
  15: { name: 'complex128', bits: 128, float: true, signed: true },
  16: { name: 'bfloat16', bits: 16, float: true, signed: true },
  17: { name: 'float8e4m3fn', bits: 8, float: true, signed: true },
  18: { name: 'float8e4m3fnuz', bits: 8, float: true, signed: true },
  19: { name: 'float8e5m2', bits: 8, float: true, signed: true },
  20: { name: 'float8e5m2fnuz', bits: 8, float: true, signed: true },
  21: { name: 'uint4', bits: 4, float: false, signed: false },
  22: { name: 'int4', bits: 4, float: false, signed: true },
  23: { name: 'float4e2m1', bits: 4, float: true, signed: true },
};

const BY_NAME = new Map<string, number>(Object.entries(INFO).map(([k, v]) => [v.name, Number(k)]));
// Aliases users type.
for (const [alias, t] of [['float', 1], ['double', 11], ['half', 10], ['fp32', 1], ['fp16', 10], ['bf16', 16], ['fp64', 11]] as const) {
  BY_NAME.set(alias, t);
}

function info(t: number): DTypeInfo {
  const i = INFO[t];
  if (!i) throw new ForgeError(ForgeErrorCode.UNSUPPORTED_TYPE, `unknown ONNX data type ${t}`, { details: { dataType: t } });
  return i;
}

export function isKnownDataType(t: number): boolean {
  return INFO[t] !== undefined;
}

export function dtypeName(t: number): DTypeName {
  return INFO[t]?.name ?? ('undefined' as const);
}

export function dataTypeFromName(name: string): DataType {
  const t = BY_NAME.get(name.toLowerCase());
  if (t === undefined) {
    throw new ForgeError(ForgeErrorCode.UNSUPPORTED_TYPE, `unknown data type name "${name}"`, {
      details: { name, known: [...BY_NAME.keys()] },
    });
  }
  return t as DataType;
}

/** Bits per element in raw_data (4 for int4/uint4/float4, 0 for string). */
export function dtypeBits(t: number): number {
  return info(t).bits;
}

export function isFloatType(t: number): boolean {
  return INFO[t]?.float ?? false;
}

/** Number of raw_data bytes for `count` elements. */
export function rawByteLength(t: number, count: number): number {
  const bits = info(t).bits;
  return bits === 4 ? Math.ceil(count / 2) : (count * bits) / 8;
}

export type TypedArray =
  | Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array
  | Uint32Array | BigInt64Array | BigUint64Array;

type TypedArrayCtor = { new (buffer: ArrayBufferLike, byteOffset: number, length: number): TypedArray; new (length: number): TypedArray; BYTES_PER_ELEMENT: number };

/**
 * The typed array that holds the element type's raw little-endian values. float16 and bfloat16 are
 * Uint16Array bit patterns (Node 20 has no Float16Array); bool, float8 and packed 4-bit types Uint8Array.
 */
export function typedArrayCtor(t: number): TypedArrayCtor {
  switch (t) {
    case DataType.FLOAT: return Float32Array as unknown as TypedArrayCtor;
    case DataType.DOUBLE: return Float64Array as unknown as TypedArrayCtor;
    case DataType.INT8: return Int8Array as unknown as TypedArrayCtor;
    case DataType.INT16: return Int16Array as unknown as TypedArrayCtor;
    case DataType.INT32: return Int32Array as unknown as TypedArrayCtor;
    case DataType.INT64: return BigInt64Array as unknown as TypedArrayCtor;
    case DataType.UINT16: case DataType.FLOAT16: case DataType.BFLOAT16: return Uint16Array as unknown as TypedArrayCtor;
    case DataType.UINT32: return Uint32Array as unknown as TypedArrayCtor;
    case DataType.UINT64: return BigUint64Array as unknown as TypedArrayCtor;
    case DataType.COMPLEX64: return Float32Array as unknown as TypedArrayCtor;
    case DataType.COMPLEX128: return Float64Array as unknown as TypedArrayCtor;
    case DataType.STRING: case DataType.UNDEFINED:
      throw new ForgeError(ForgeErrorCode.UNSUPPORTED_TYPE, `data type ${dtypeName(t)} has no typed array`);
    default: return Uint8Array as unknown as TypedArrayCtor;
  }
}
