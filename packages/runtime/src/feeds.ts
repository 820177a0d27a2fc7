import { ForgeError, ForgeErrorCode, nullThrows } from '@onnx-forge/core';
import { type EmptyInputHazard, emptyInputError } from './empty-input-hazard.js';
import { arrayMatchesType, convertValues, elementCount, elementTypeOfArray, isElementType } from './tensor.js';
import type { ElementType, FeedValue, Feeds, TensorLike, ValueInfo } from './types.js';

/**
 * Turns what the caller passed into tensors and checks them against the inputs the model declares,
 * so that a mistake is a FORGE_BAD_INPUT naming the input and what was expected, not an onnxruntime
 * message about "invalid dimensions for input x index 0" (or, for a wrong length, a crash).
 */

const ARRAY_NAME: Record<ElementType, string> = {
  float32: 'Float32Array', float16: 'Uint16Array (fp16 bits) or Float16Array', float64: 'Float64Array', int8: 'Int8Array',
  uint8: 'Uint8Array', int16: 'Int16Array', uint16: 'Uint16Array', int32: 'Int32Array', uint32: 'Uint32Array',
  int64: 'BigInt64Array', uint64: 'BigUint64Array', bool: 'Uint8Array', string: 'string[]',
};

function badInput(message: string, details: Record<string, unknown> = {}): ForgeError {
  return new ForgeError(ForgeErrorCode.BAD_INPUT, message, { details });
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (ArrayBuffer.isView(value)) return value.constructor.name;
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

function isTensorLike(v: object): v is TensorLike {
  return 'data' in v && 'dims' in v && 'type' in v;
}

/** One feed as a tensor, before it is checked against the model. */
function toTensor(name: string, value: FeedValue | undefined, info: ValueInfo | undefined): TensorLike {
  const declared = info?.type;
  if (ArrayBuffer.isView(value)) {
    const dims = fixedDims(info?.shape);
    if (!dims) {
      throw badInput(`input '${name}' was given as a bare ${describe(value)} but its shape [${(info?.shape ?? ['?']).join(', ')}] is not fixed: pass { data, dims }`, { input: name });
    }
    return { type: typeFor(value, declared), dims, data: value as TensorLike['data'] };
  }
  if (typeof value !== 'object' || value === null) {
    throw badInput(`input '${name}' must be a Tensor, { data, dims } or a typed array, got ${describe(value)}`, { input: name });
  }
  // Plain numbers, bigints or booleans given with a type (`{ type: 'int64', dims, data: [1, 2] }`, as from
  // JSON) are converted like those without one; strings are already the container of a string tensor.
  if (isTensorLike(value) && !('shape' in value) && !plainValues(value)) {
    // onnxruntime Tensors (of either build) and plain tensors: used as they are; GPU-resident ones have no readable data.
    return value;
  }
  const v = value as { data?: unknown; dims?: readonly number[]; shape?: readonly number[]; type?: ElementType };
  const dims = v.dims ?? v.shape ?? fixedDims(info?.shape);
  if (v.data === undefined) throw badInput(`input '${name}' has no data`, { input: name });
  if (v.type !== undefined && !isElementType(v.type)) throw badInput(`input '${name}' has unknown type '${String(v.type)}'`, { input: name });
  if (Array.isArray(v.data)) {
    const type = v.type ?? declared;
    if (!type) throw badInput(`input '${name}' was given as plain values but its element type is unknown: pass { type }`, { input: name });
    return { type, dims: dims ?? [v.data.length], data: convertValues(v.data, type) };
  }
  if (!ArrayBuffer.isView(v.data)) throw badInput(`input '${name}' data must be a typed array or an array, got ${describe(v.data)}`, { input: name });
  if (!dims) throw badInput(`input '${name}' needs dims: its declared shape [${(info?.shape ?? ['?']).join(', ')}] is not fixed`, { input: name });
  return { type: v.type ?? typeFor(v.data, declared), dims, data: v.data as TensorLike['data'] };
}

/** Numbers, bigints or booleans in a plain array (not read from a GPU-resident tensor, whose data getter throws). */
function plainValues(t: TensorLike): boolean {
  const location = (t as { location?: string }).location;
  return (location === undefined || location === 'cpu') && Array.isArray(t.data) && t.type !== 'string';
}

/** A declared shape whose every dim is fixed, as dims; undefined when it is unknown or has a symbolic dim. */
function fixedDims(shape: ValueInfo['shape']): number[] | undefined {
  return shape?.every((d): d is number => typeof d === 'number') ? [...shape] : undefined;
}

/** The element type of a bare typed array: the model's declared type settles Uint16Array (fp16) and Uint8Array (bool). */
function typeFor(data: unknown, declared: ElementType | undefined): string {
  if (declared && arrayMatchesType(data, declared)) return declared;
  return elementTypeOfArray(data) ?? describe(data);
}

export interface PreparedFeeds {
  readonly names: string[];
  readonly tensors: TensorLike[];
}

/**
 * Normalizes and validates feeds against the declared inputs: every declared input present, no unknown
 * names, element types equal, data container right for the type, data length = product of dims, rank and
 * fixed dims as declared, and each symbolic dim (e.g. 'batch') the same size across all inputs. With
 * `hazard` (a node onnxruntime aborts on when an empty tensor reaches it), an empty feed is refused.
 */
export function prepareFeeds(feeds: Feeds, inputs: readonly ValueInfo[], byName: ReadonlyMap<string, ValueInfo>, hazard?: EmptyInputHazard): PreparedFeeds {
  if (typeof feeds !== 'object' || feeds === null || Array.isArray(feeds) || ArrayBuffer.isView(feeds)) {
    throw badInput(`feeds must be an object mapping input names to tensors, got ${describe(feeds)}`);
  }
  const names: string[] = [];
  const tensors: TensorLike[] = [];
  let symbols: Map<string, { size: number; input: string }> | undefined;
  // Own names only: a feed object whose prototype was set (an input named __proto__ assigned into it)
  // would otherwise list the tensor's own fields as inputs.
  for (const name of Object.keys(feeds)) {
    const info = byName.get(name);
    if (!info) {
      throw badInput(`unknown input '${name}': the model's inputs are ${inputs.map((i) => `'${i.name}'`).join(', ') || '(none)'}`, { input: name, expected: inputs.map((i) => i.name) });
    }
    const given = toTensor(name, feeds[name], info);
    checkTensor(name, given, info);
    const tensor = boolAsBits(given);
    if (hazard && elementCount(tensor.dims) === 0) throw emptyInputError(name, tensor.dims, hazard);
    if (info.shape) {
      for (let i = 0; i < info.shape.length; i++) {
        const d = info.shape[i];
        if (typeof d !== 'string' || d === '') continue;
        const size = nullThrows(tensor.dims[i], `checkTensor let input '${name}' through with fewer dims than its declared rank`);
        symbols ??= new Map();
        const seen = symbols.get(d);
        if (seen && seen.size !== size) {
          throw badInput(`dimension '${d}' is ${seen.size} in input '${seen.input}' but ${size} in input '${name}'`, { input: name, dim: d });
        }
        if (!seen) symbols.set(d, { size, input: name });
      }
    }
    names.push(name);
    tensors.push(tensor);
  }
  if (names.length !== inputs.length) {
    const missing = inputs.filter((i) => !(i.name in feeds)).map((i) => i.name);
    throw badInput(`missing input${missing.length > 1 ? 's' : ''} ${missing.map((m) => `'${m}'`).join(', ')}`, { missing });
  }
  return { names, tensors };
}

/**
 * A bool tensor whose bytes are all 0 or 1. onnxruntime reads the bytes as they are: Not(2) is 3 and
 * Not(255) is 254 (still true), and onnxruntime-web casts 2 to 0.0; a mask built as 255 or `x & 4` is
 * common. Any other byte is read as true, in a copy (the caller's array is left as it was).
 */
function boolAsBits(t: TensorLike): TensorLike {
  const location = (t as { location?: string }).location;
  if (t.type !== 'bool' || (location !== undefined && location !== 'cpu') || !(t.data instanceof Uint8Array) || t.data.every((v) => v <= 1)) return t;
  return { type: 'bool', dims: t.dims, data: t.data.map((v) => (v === 0 ? 0 : 1)) };
}

function checkTensor(name: string, t: TensorLike, info: ValueInfo): void {
  const { type, dims } = t;
  if (info.type !== undefined && type !== info.type) {
    throw badInput(`input '${name}' must be ${info.type} (${ARRAY_NAME[info.type]}), got ${type}`, { input: name, expected: info.type, got: type });
  }
  if (!Array.isArray(dims) || dims.some((d) => !Number.isInteger(d) || d < 0)) {
    throw badInput(`input '${name}' dims must be non-negative integers, got ${JSON.stringify(dims)}`, { input: name });
  }
  if ((t as { location?: string }).location === undefined || (t as { location?: string }).location === 'cpu') {
    const data = t.data;
    if (isElementType(type) && !arrayMatchesType(data, type)) {
      throw badInput(`input '${name}' of type ${type} needs a ${ARRAY_NAME[type]}, got ${describe(data)}`, { input: name });
    }
    const n = elementCount(dims);
    if ((data as ArrayLike<unknown>).length !== n) {
      throw badInput(`input '${name}' has ${(data as ArrayLike<unknown>).length} values but dims [${dims.join(', ')}] need ${n}`, { input: name });
    }
  }
  const shape = info.shape;
  if (!shape) return;
  if (dims.length !== shape.length) {
    throw badInput(`input '${name}' must have rank ${shape.length} ([${shape.join(', ')}]), got dims [${dims.join(', ')}]`, { input: name, expected: shape, got: dims });
  }
  for (let i = 0; i < shape.length; i++) {
    const want = shape[i];
    if (typeof want === 'number' && dims[i] !== want) {
      throw badInput(`input '${name}' dimension ${i} must be ${want} ([${shape.join(', ')}]), got dims [${dims.join(', ')}]`, { input: name, expected: shape, got: dims });
    }
  }
}

/** Checks requested output names. */
export function checkOutputNames(outputs: readonly string[], declared: readonly string[]): void {
  for (const o of outputs) {
    if (!declared.includes(o)) {
      throw badInput(`unknown output '${o}': the model's outputs are ${declared.map((d) => `'${d}'`).join(', ')}`, { output: o });
    }
  }
}
