import { DataType } from '../dtype.js';
import { Rng } from '../builder/random.js';
import { tensorDims, tensorToArray } from '../ir/tensor.js';
import type { TensorProto, ValueInfoProto } from '../proto/types.js';
import { toNumber } from '../ir/int64.js';

/**
 * Values in the shape onnxruntime's `new Tensor(type, data, dims)` takes, built without importing
 * onnxruntime (core must never depend on it): tests pass these to their own `ort.Tensor`.
 */
export interface OrtValueArgs {
  type: string;
  data: ArrayLike<unknown>;
  dims: number[];
}

/** What `ort.Tensor` exposes that the comparison needs. */
export interface OrtValueLike {
  type: string;
  dims: readonly number[];
  data: ArrayLike<unknown>;
}

/** onnxruntime's type names for the element types onnxruntime-node accepts from JavaScript. */
const ORT_TYPE: Partial<Record<number, string>> = {
  [DataType.FLOAT]: 'float32',
  [DataType.UINT8]: 'uint8',
  [DataType.INT8]: 'int8',
  [DataType.UINT16]: 'uint16',
  [DataType.INT16]: 'int16',
  [DataType.INT32]: 'int32',
  [DataType.INT64]: 'int64',
  [DataType.STRING]: 'string',
  [DataType.BOOL]: 'bool',
  [DataType.FLOAT16]: 'float16',
  [DataType.DOUBLE]: 'float64',
  [DataType.UINT32]: 'uint32',
  [DataType.UINT64]: 'uint64',
  [DataType.INT4]: 'int4',
  [DataType.UINT4]: 'uint4',
};

/** The onnxruntime type name of an ONNX element type, or undefined when JS cannot feed it. */
export function ortTypeName(elemType: number): string | undefined {
  return ORT_TYPE[elemType];
}

/** A TensorProto (e.g. from a test data set) as onnxruntime tensor arguments, or undefined when JS cannot express it. */
export function tensorToOrtArgs(t: TensorProto): OrtValueArgs | undefined {
  const type = ortTypeName(t.dataType);
  if (!type) return undefined;
  const dims = tensorDims(t);
  if (t.dataType === DataType.STRING) return { type, data: t.stringData.map((b) => new TextDecoder().decode(b)), dims };
  const values = tensorToArray(t);
  // bool and the 4-bit types are fed as bytes.
  const data = t.dataType === DataType.BOOL || t.dataType === DataType.INT4 || t.dataType === DataType.UINT4
    ? new Uint8Array(values.buffer, values.byteOffset, values.byteLength)
    : values;
  return { type, data: copyOf(data), dims };
}

/** onnxruntime keeps a reference to the data: give it its own copy, not a view into a model buffer. */
function copyOf<T extends ArrayLike<unknown>>(data: T): T {
  return (data as unknown as { slice(): T }).slice();
}

/** The declared tensor type of a graph input: element type and dims (symbolic or missing dims as undefined), or undefined for non-tensors. */
export function declaredTensor(v: ValueInfoProto): { elemType: number; dims: (number | undefined)[]; symbols: (string | undefined)[] } | undefined {
  const t = v.type?.tensorType;
  if (!t) return undefined;
  const dims = (t.shape?.dim ?? []).map((d) => (d.value === 'dimValue' ? toNumber(d.dimValue) : undefined));
  const symbols = (t.shape?.dim ?? []).map((d) => (d.value === 'dimParam' ? (d.dimParam ?? undefined) : undefined));
  return { elemType: t.elemType, dims, symbols };
}

/**
 * Deterministic inputs for a graph input: floats uniform in [-1, 1), integers in [0, 4), bools
 * random. Symbolic dims take `symbolDims[name]` or 1.
 */
export function seededInput(v: ValueInfoProto, rng: Rng, symbolDims: Record<string, number> = {}): OrtValueArgs | undefined {
  const decl = declaredTensor(v);
  if (!decl) return undefined;
  const type = ortTypeName(decl.elemType);
  if (!type) return undefined;
  const dims = decl.dims.map((d, i) => d ?? symbolDims[decl.symbols[i] ?? ''] ?? 1);
  const n = dims.reduce((a, b) => a * b, 1);
  let data: ArrayLike<unknown>;
  switch (type) {
    case 'float32': data = Float32Array.from({ length: n }, () => rng.uniform(-1, 1)); break;
    case 'float64': data = Float64Array.from({ length: n }, () => rng.uniform(-1, 1)); break;
    case 'int64': data = BigInt64Array.from({ length: n }, () => BigInt(Math.floor(rng.uniform(0, 4)))); break;
    case 'int32': data = Int32Array.from({ length: n }, () => Math.floor(rng.uniform(0, 4))); break;
    case 'bool': data = Uint8Array.from({ length: n }, () => (rng.uniform(0, 1) < 0.5 ? 1 : 0)); break;
    default: return undefined;
  }
  return { type, data, dims };
}

/**
 * Where two onnxruntime outputs differ bit for bit (NaN equals NaN, -0 differs from 0), or undefined.
 * Both sides come from the same graph on the same machine, so anything but identity is a codec bug.
 */
export function ortValueDiff(a: OrtValueLike, b: OrtValueLike): string | undefined {
  if (a.type !== b.type) return `type ${a.type} vs ${b.type}`;
  if (a.dims.length !== b.dims.length || a.dims.some((d, i) => d !== b.dims[i])) return `dims [${a.dims.join(',')}] vs [${b.dims.join(',')}]`;
  if (a.data.length !== b.data.length) return `${a.data.length} vs ${b.data.length} elements`;
  for (let i = 0; i < a.data.length; i++) {
    const x = a.data[i];
    const y = b.data[i];
    if (!Object.is(x, y)) return `element ${i}: ${String(x)} vs ${String(y)}`;
  }
  return undefined;
}

/**
 * Whether an onnxruntime output agrees with an expected value within a tolerance (|a - b| <= atol +
 * rtol * |b| for floats, exact otherwise). Used to show the test data itself was read correctly.
 */
export function ortValueClose(got: OrtValueLike, want: OrtValueArgs, rtol = 1e-3, atol = 1e-5): boolean {
  if (got.type !== want.type || got.dims.length !== want.dims.length || got.dims.some((d, i) => d !== want.dims[i])) return false;
  if (got.data.length !== want.data.length) return false;
  const float = got.type === 'float32' || got.type === 'float64' || got.type === 'float16';
  for (let i = 0; i < got.data.length; i++) {
    const a = got.data[i];
    const b = want.data[i];
    if (float && got.type !== 'float16') {
      const x = a as number;
      const y = b as number;
      if (Number.isNaN(x) && Number.isNaN(y)) continue;
      if (x === y) continue;
      if (!(Math.abs(x - y) <= atol + rtol * Math.abs(y))) return false;
    } else if (a !== b) {
      return false;
    }
  }
  return true;
}
