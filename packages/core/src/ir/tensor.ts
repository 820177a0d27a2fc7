import { DataType, dtypeName, rawByteLength, typedArrayCtor, type TypedArray } from '../dtype.js';
import { ForgeError, ForgeErrorCode } from '../errors.js';
import { onnx } from '../proto/onnx.generated.js';
import type { TensorProto } from '../proto/types.js';
import { bfloat16BitsToFloat32, float16BitsToFloat32, float32ToFloat16Bits } from '../numeric/float16.js';
import { toBigInt, toNumber } from './int64.js';
import { dropPendingData, pendingData, readPendingSync } from './tensor-data.js';

/** Dimensions of a tensor as numbers. */
export function tensorDims(t: TensorProto): number[] {
  return t.dims.map((d) => toNumber(d, `dimension of tensor "${t.name}"`));
}

export function elementCount(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

export function tensorElementCount(t: TensorProto): number {
  return elementCount(tensorDims(t));
}

export function isExternal(t: TensorProto): boolean {
  return t.dataLocation === 1;
}

/** Bytes of tensor data as stored (raw_data, typed fields, or declared external length). */
export function tensorByteSize(t: TensorProto): number {
  if (t.rawData && t.rawData.length) return t.rawData.length;
  const pending = pendingData(t);
  if (pending) return pending.length;
  if (isExternal(t)) {
    const len = t.externalData.find((e) => e.key === 'length')?.value;
    return len ? Number(len) : rawByteLength(t.dataType, tensorElementCount(t));
  }
  if (t.dataType === DataType.STRING) return t.stringData.reduce((s, b) => s + b.length, 0);
  return rawByteLength(t.dataType, tensorElementCount(t));
}

/**
 * Little-endian raw bytes of a tensor: `rawData` itself when set (a view, not a copy), the data of a
 * lazy tensor read from its source or produced (new bytes on every call, kept by no one), otherwise
 * the typed fields (float_data, int32_data, ...) packed into a new buffer.
 */
export function tensorRawBytes(t: TensorProto): Uint8Array {
  const pending = pendingData(t);
  if (pending) return readPendingSync(t, pending);
  if (isExternal(t)) {
    throw new ForgeError(ForgeErrorCode.EXTERNAL_DATA, `tensor "${t.name}" still points to external data; read the model with readModel so external data is loaded`);
  }
  if (Object.prototype.hasOwnProperty.call(t, 'rawData')) return t.rawData;
  const type = t.dataType;
  const count = tensorElementCount(t);
  switch (type) {
    case DataType.STRING:
      throw new ForgeError(ForgeErrorCode.UNSUPPORTED_TYPE, `tensor "${t.name}" holds strings, which have no raw bytes`);
    case DataType.FLOAT: case DataType.COMPLEX64:
      return bytesOf(Float32Array.from(t.floatData));
    case DataType.DOUBLE: case DataType.COMPLEX128:
      return bytesOf(Float64Array.from(t.doubleData));
    case DataType.INT64:
      return bytesOf(BigInt64Array.from(t.int64Data, (v) => toBigInt(v)));
    case DataType.UINT64:
      return bytesOf(BigUint64Array.from(t.uint64Data, (v) => BigInt.asUintN(64, toBigInt(v))));
    case DataType.UINT32:
      return bytesOf(Uint32Array.from(t.uint64Data, (v) => toNumber(v)));
    case DataType.INT32:
      return bytesOf(Int32Array.from(t.int32Data));
    case DataType.INT16:
      return bytesOf(Int16Array.from(t.int32Data));
    case DataType.UINT16: case DataType.FLOAT16: case DataType.BFLOAT16:
      return bytesOf(Uint16Array.from(t.int32Data));
    case DataType.INT8:
      return bytesOf(Int8Array.from(t.int32Data));
    case DataType.INT4: case DataType.UINT4: case DataType.FLOAT4E2M1: {
      // int32_data holds two 4-bit values per entry already packed (low nibble first). The dims
      // are checked against it before allocating: corrupt dims must not size the buffer.
      const length = rawByteLength(type, count);
      if (!(Number.isSafeInteger(length) && length >= 0 && length <= t.int32Data.length)) {
        throw new ForgeError(ForgeErrorCode.INVALID_MODEL, `tensor "${t.name}" has ${t.int32Data.length} int32_data entries; its dims [${tensorDims(t).join(', ')}] need ${length}`, {
          details: { tensor: t.name },
        });
      }
      const out = new Uint8Array(length);
      for (let i = 0; i < out.length; i++) out[i] = (t.int32Data[i] ?? 0) & 0xff;
      return out;
    }
    default:
      return Uint8Array.from(t.int32Data);
  }
}

function bytesOf(a: TypedArray): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/**
 * Tensor values as their natural typed array (float16/bfloat16 as Uint16Array bit patterns, int64 as
 * BigInt64Array). A view over the model bytes when aligned, a copy otherwise.
 */
export function tensorToArray(t: TensorProto): TypedArray {
  const bytes = tensorRawBytes(t);
  const Ctor = typedArrayCtor(t.dataType);
  const per = Ctor.BYTES_PER_ELEMENT;
  if (bytes.length % per !== 0) {
    throw new ForgeError(ForgeErrorCode.INVALID_MODEL, `tensor "${t.name}" has ${bytes.length} bytes, not a multiple of ${per} for ${dtypeName(t.dataType)}`);
  }
  if (bytes.byteOffset % per === 0) return new Ctor(bytes.buffer, bytes.byteOffset, bytes.length / per);
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return new Ctor(copy.buffer, 0, bytes.length / per);
}

/** Tensor values converted to Float32Array (any numeric type; int64 through Number). */
export function tensorToFloat32(t: TensorProto): Float32Array {
  const type = t.dataType;
  if (type === DataType.FLOAT) {
    const a = tensorToArray(t) as Float32Array;
    return a;
  }
  const a = tensorToArray(t);
  const out = new Float32Array(a.length);
  if (type === DataType.FLOAT16) for (let i = 0; i < a.length; i++) out[i] = float16BitsToFloat32(a[i] as number);
  else if (type === DataType.BFLOAT16) for (let i = 0; i < a.length; i++) out[i] = bfloat16BitsToFloat32(a[i] as number);
  else if (a instanceof BigInt64Array || a instanceof BigUint64Array) for (let i = 0; i < a.length; i++) out[i] = Number(a[i]);
  else if (type === DataType.BOOL) for (let i = 0; i < a.length; i++) out[i] = (a[i] as number) ? 1 : 0;
  else for (let i = 0; i < a.length; i++) out[i] = a[i] as number;
  return out;
}

/** Integer tensor values (int8..int64, uint*) as numbers (int64 must fit in 2^53). */
export function tensorToInts(t: TensorProto): number[] {
  const a = tensorToArray(t);
  return Array.from(a as ArrayLike<number | bigint>, (v) => (typeof v === 'bigint' ? toNumber(v) : v));
}

export type TensorData = TypedArray | Uint8Array | readonly string[];

/**
 * A new TensorProto holding `data` in raw_data (strings in string_data). float16/bfloat16 take Uint16Array
 * bit patterns; bool takes Uint8Array; int4/uint4 take the packed bytes.
 */
export function createTensor(name: string, dataType: number, dims: readonly number[], data: TensorData): TensorProto {
  const t = new onnx.TensorProto({ name, dataType, dims: [...dims] });
  if (dataType === DataType.STRING) {
    const enc = new TextEncoder();
    t.stringData = (data as readonly string[]).map((s) => enc.encode(s));
    return t;
  }
  if (Array.isArray(data)) throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `tensor "${name}": strings given for ${dtypeName(dataType)}`);
  const bytes = bytesOf(data as TypedArray);
  const want = rawByteLength(dataType, elementCount(dims));
  if (bytes.length !== want) {
    throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `tensor "${name}": ${bytes.length} bytes given, ${dims.join('x') || 'scalar'} ${dtypeName(dataType)} needs ${want}`);
  }
  t.rawData = bytes;
  return t;
}

/** A tensor that keeps the name/dims of `t` with new data and type (used by conversion passes). */
export function replaceTensorData(t: TensorProto, dataType: number, data: TypedArray | Uint8Array): void {
  dropPendingData(t);
  t.dataType = dataType;
  t.rawData = bytesOf(data as TypedArray);
  t.floatData = [];
  t.int32Data = [];
  t.int64Data = [];
  t.doubleData = [];
  t.uint64Data = [];
}

/** A scalar or 1-D constant from JS numbers. */
export function scalarTensor(name: string, dataType: number, value: number | readonly number[], dims?: readonly number[]): TensorProto {
  const values = typeof value === 'number' ? [value] : value;
  const shape = dims ?? (typeof value === 'number' ? [] : [values.length]);
  const Ctor = typedArrayCtor(dataType);
  let arr: TypedArray;
  if (Ctor === (BigInt64Array as unknown) || Ctor === (BigUint64Array as unknown)) arr = BigInt64Array.from(values, (v) => BigInt(v));
  else if (dataType === DataType.FLOAT16) arr = Uint16Array.from(values, (v) => float32ToFloat16Bits(v));
  else arr = (Ctor as unknown as { from(a: readonly number[]): TypedArray }).from(values);
  return createTensor(name, dataType, shape, arr);
}
