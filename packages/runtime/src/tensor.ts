import { ForgeError, ForgeErrorCode, float16ToFloat32, float32ToFloat16, type TypedArray } from '@onnx-forge/core';
import type { ElementType, TensorLike } from './types.js';

/**
 * Tensor helpers that work the same with both onnxruntime builds: plain `{ type, dims, data }` objects
 * (which the session turns into the backend's own Tensor class), fp16 as Uint16Array bits, int64 as
 * BigInt64Array.
 */

type ArrayCtor = { new (n: number): TypedArray; readonly name: string };

const CTORS: Record<Exclude<ElementType, 'string'>, ArrayCtor> = {
  float32: Float32Array,
  float16: Uint16Array,
  float64: Float64Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  bool: Uint8Array,
};

export const ELEMENT_TYPES: readonly ElementType[] = [...Object.keys(CTORS), 'string'] as ElementType[];

export function isElementType(t: unknown): t is ElementType {
  return typeof t === 'string' && (ELEMENT_TYPES as readonly string[]).includes(t);
}

/** The typed array class onnxruntime expects for an element type (undefined for string). */
export function arrayCtorFor(type: ElementType): ArrayCtor | undefined {
  return type === 'string' ? undefined : CTORS[type];
}

/**
 * The element type a typed array stands for when nothing else says. Uint16Array is ambiguous (uint16
 * or float16 bits) and Uint8Array (uint8 or bool): the model's declared type decides those.
 */
export function elementTypeOfArray(data: unknown): ElementType | undefined {
  if (isFloat16Array(data)) return 'float16';
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof BigUint64Array) return 'uint64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint32Array) return 'uint32';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Uint16Array) return 'uint16';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Uint8Array || data instanceof Uint8ClampedArray) return 'uint8';
  return undefined;
}

/**
 * A Float16Array, where the platform has one (browsers since Chromium 135, not Node 20): onnxruntime
 * takes it for float16 and, where it exists, gives float16 outputs as one (values, not bits).
 */
export function isFloat16Array(data: unknown): boolean {
  const F16 = (globalThis as { Float16Array?: abstract new (...args: never[]) => unknown }).Float16Array;
  return F16 !== undefined && data instanceof F16;
}

/** Whether `data` is an acceptable container for `type` (Uint16Array bits or a Float16Array for float16, Uint8Array for bool). */
export function arrayMatchesType(data: unknown, type: ElementType): boolean {
  if (type === 'string') return Array.isArray(data) && data.every((s) => typeof s === 'string');
  if (type === 'float16' && isFloat16Array(data)) return true;
  const ctor = CTORS[type];
  return data instanceof ctor || (type === 'uint8' && data instanceof Uint8ClampedArray);
}

export function elementCount(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/**
 * fp32 → fp16 bits with core's kernels (WebAssembly SIMD where available), rounding to nearest even.
 * By default values beyond ±65504 become ±Infinity, as IEEE says; `clamp: true` saturates them to
 * ±65504 (and flushes magnitudes below 2^-24 to zero) instead.
 */
export function toFloat16(values: ArrayLike<number>, options: { clamp?: boolean } = {}): Uint16Array {
  const f32 = values instanceof Float32Array ? values : Float32Array.from(values);
  return float32ToFloat16(f32, undefined, { clamp: options.clamp ?? false });
}

/**
 * fp16 bits → fp32 (exact; NaN payloads and signed zeros kept). A Float16Array (how onnxruntime gives
 * float16 outputs where the platform has one) holds values, not bits: they are widened as they are.
 */
export function fromFloat16(bits: ArrayLike<number>): Float32Array {
  if (isFloat16Array(bits)) return Float32Array.from(bits);
  return float16ToFloat32(bits instanceof Uint16Array ? bits : Uint16Array.from(bits));
}

/**
 * Numbers (or bigints, or decimal strings) → BigInt64Array. Numbers must be integers within
 * ±2^53 so that no value is silently rounded on the way.
 */
export function toInt64(values: ArrayLike<number | bigint | string>): BigInt64Array {
  const out = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === 'bigint') {
      out[i] = BigInt.asIntN(64, v);
      if (out[i] !== v) throw badInput(`value ${v} at index ${i} does not fit in int64`);
    } else if (typeof v === 'number') {
      if (!Number.isSafeInteger(v)) throw badInput(`value ${v} at index ${i} is not an integer that int64 can hold exactly (use a bigint)`);
      out[i] = BigInt(v);
    } else if (typeof v === 'string' && /^-?\d+$/.test(v)) {
      out[i] = BigInt.asIntN(64, BigInt(v));
      if (out[i] !== BigInt(v)) throw badInput(`value ${v} at index ${i} does not fit in int64`);
    } else {
      throw badInput(`value ${String(v)} at index ${i} is not an integer`);
    }
  }
  return out;
}

/**
 * int64 → numbers. Values beyond ±2^53 cannot be numbers exactly: they throw unless `lossy` is set
 * (then they are rounded, as Number() does).
 */
export function fromInt64(values: BigInt64Array | BigUint64Array, options: { lossy?: boolean } = {}): number[] {
  const out = new Array<number>(values.length);
  for (const [i, v] of values.entries()) {
    const n = Number(v);
    if (!options.lossy && !Number.isSafeInteger(n)) {
      throw badInput(`int64 value ${v} at index ${i} is beyond ±2^53; pass { lossy: true } to round it or keep the BigInt64Array`);
    }
    out[i] = n;
  }
  return out;
}

type Nested = number | bigint | boolean | string | readonly Nested[];

/** Shape of a nested array, checking that it is rectangular. */
function nestedShape(values: Nested): number[] {
  const dims: number[] = [];
  // An empty array ends the walk with a 0 dim (its first element is undefined).
  let v: Nested | undefined = values;
  while (Array.isArray(v)) {
    dims.push(v.length);
    v = v[0];
  }
  return dims;
}

function flatten(values: Nested, dims: readonly number[], depth: number, out: unknown[]): void {
  if (depth === dims.length) {
    if (Array.isArray(values)) throw badInput('the nested array is not rectangular (it is deeper in some places than others)');
    out.push(values);
    return;
  }
  if (!Array.isArray(values) || values.length !== dims[depth]) {
    throw badInput(`the nested array is not rectangular: expected ${dims[depth]} elements at depth ${depth}`);
  }
  for (const v of values) flatten(v, dims, depth + 1, out);
}

/**
 * A tensor from plain JavaScript values: a flat array with `dims`, or a nested array whose shape is
 * taken from its nesting. Converts to the container `type` needs (float16 bits, BigInt64Array, bool bytes).
 */
export function tensorFromArray(values: Nested | ArrayLike<number | bigint | boolean | string>, type: ElementType, dims?: readonly number[]): TensorLike & { type: ElementType } {
  let flat: ArrayLike<unknown> = values as ArrayLike<unknown>;
  let shape: readonly number[] = dims ?? [flat.length];
  if (Array.isArray(values)) {
    const nested = nestedShape(values as Nested);
    const out: unknown[] = [];
    flatten(values as Nested, nested, 0, out);
    flat = out;
    shape = dims ?? nested;
  }
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw badInput(`dims [${shape.join(', ')}] must be non-negative integers`);
  if (elementCount(shape) !== flat.length) {
    throw badInput(`${flat.length} values do not fill dims [${shape.join(', ')}] (${elementCount(shape)} elements)`);
  }
  return { type, dims: shape, data: convertValues(flat, type) };
}

/** Converts plain values to the container of `type`. Used for feeds given as plain arrays. */
export function convertValues(flat: ArrayLike<unknown>, type: ElementType): TypedArray | string[] {
  switch (type) {
    case 'string':
      return Array.from(flat, (v) => String(v));
    case 'float16':
      return toFloat16(Array.from(flat, (v) => toNumberValue(v)));
    case 'int64':
      return toInt64(flat as ArrayLike<number | bigint | string>);
    case 'uint64': {
      const out = new BigUint64Array(flat.length);
      for (let i = 0; i < flat.length; i++) {
        const v = flat[i];
        const b = typeof v === 'bigint' ? v : BigInt(toIntegerValue(v, i));
        if (b < 0n || BigInt.asUintN(64, b) !== b) throw badInput(`value ${b} at index ${i} does not fit in uint64`);
        out[i] = b;
      }
      return out;
    }
    case 'bool': {
      const out = new Uint8Array(flat.length);
      for (let i = 0; i < flat.length; i++) out[i] = flat[i] ? 1 : 0;
      return out;
    }
    default: {
      const ctor = CTORS[type];
      const out = new ctor(flat.length) as Exclude<TypedArray, BigInt64Array | BigUint64Array>;
      const range = INT_RANGES[type];
      for (let i = 0; i < flat.length; i++) {
        if (!range) {
          out[i] = toNumberValue(flat[i]);
          continue;
        }
        // A typed array wraps what it cannot hold (256 as uint8 is 0): refused, as int64 and uint64 are.
        const n = toIntegerValue(flat[i], i);
        if (n < range[0] || n > range[1]) throw badInput(`value ${n} at index ${i} does not fit in ${type} (${range[0]} to ${range[1]})`);
        out[i] = n;
      }
      return out;
    }
  }
}

/** The values each integer type up to 32 bits holds. */
const INT_RANGES: Partial<Record<ElementType, readonly [number, number]>> = {
  int8: [-128, 127], uint8: [0, 255], int16: [-32768, 32767], uint16: [0, 65535], int32: [-(2 ** 31), 2 ** 31 - 1], uint32: [0, 2 ** 32 - 1],
};

function toNumberValue(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'bigint') return Number(v);
  throw badInput(`${String(v)} is not a number`);
}

function toIntegerValue(v: unknown, i: number): number {
  const n = toNumberValue(v);
  if (!Number.isInteger(n)) throw badInput(`value ${n} at index ${i} is not an integer`);
  return n;
}

/** A zero-filled tensor (used for warm-up runs). */
export function zerosTensor(type: ElementType, dims: readonly number[]): TensorLike & { type: ElementType } {
  const n = elementCount(dims);
  const ctor = arrayCtorFor(type);
  return { type, dims, data: ctor ? new ctor(n) : new Array<string>(n).fill('') };
}

function badInput(message: string): ForgeError {
  return new ForgeError(ForgeErrorCode.BAD_INPUT, message);
}
