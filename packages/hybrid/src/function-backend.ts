import { ForgeError, ForgeErrorCode, type TypedArray } from '@onnx-forge/core';
import { ELEMENT_TYPES, type ElementType, type Feeds, type TensorLike, arrayCtorFor, elementTypeOfArray } from '@onnx-forge/runtime';
import type { Backend, PredictOptions } from './backend.js';
import { checkBackendName, checkBackendOptions } from './session-backend.js';

/** What a function backend may return per output: a TensorLike, or `{ data, dims }` (type from the data). */
export type FunctionOutput =
  | TensorLike
  | { readonly data: TypedArray | readonly string[] | readonly number[]; readonly dims: readonly number[]; readonly type?: string };

export type PredictFunction = (feeds: Feeds, options?: PredictOptions) => Promise<Readonly<Record<string, FunctionOutput>>> | Readonly<Record<string, FunctionOutput>>;

export interface FunctionBackendOptions {
  readonly sizeBytes?: number;
  readonly warmup?: () => Promise<void> | void;
  readonly dispose?: () => Promise<void> | void;
}

function badOutput(name: string, message: string, details: Record<string, unknown> = {}): ForgeError {
  return new ForgeError(ForgeErrorCode.RUNTIME, `backend '${name}' ${message}: return { data, dims } (or a tensor) for each output`, { details: { backend: name, ...details } });
}

function normalize(backend: string, output: string, value: FunctionOutput): TensorLike {
  if (typeof value !== 'object' || value === null) throw badOutput(backend, `returned ${value === null ? 'null' : typeof value} for output '${output}'`, { output });
  const { data, dims } = value as { data?: unknown; dims?: unknown };
  if (!Array.isArray(dims) || !dims.every((d) => Number.isInteger(d) && d >= 0)) throw badOutput(backend, `returned output '${output}' without valid dims`, { output });
  const count = (dims as number[]).reduce((a, d) => a * d, 1);
  let type = (value as { type?: string }).type;
  let array: TensorLike['data'];
  if (Array.isArray(data) && data.length === 0) {
    // Nothing to infer a type from (no rows): the type given, else float32 as for numbers; [] is no
    // string tensor unless it says so.
    type ??= 'float32';
    const Ctor = ELEMENT_TYPES.includes(type as ElementType) ? arrayCtorFor(type as ElementType) : undefined;
    if (type === 'string') array = [];
    else if (Ctor) array = new Ctor(0) as TypedArray;
    else throw badOutput(backend, `returned output '${output}' of unknown element type '${type}'`, { output });
  } else if (Array.isArray(data)) {
    if (data.every((x) => typeof x === 'string')) {
      array = data as string[];
      type ??= 'string';
    } else if (data.every((x) => typeof x === 'number') && (type === undefined || type === 'float32')) {
      array = Float32Array.from(data as number[]);
      type = 'float32';
    } else {
      throw badOutput(backend, `returned output '${output}' as a plain array of ${type ?? 'mixed'} values; use a typed array`, { output });
    }
  } else if (ArrayBuffer.isView(data) && !(data instanceof DataView)) {
    array = data as TypedArray;
    // A Uint16Array is uint16 unless the function says float16.
    type ??= elementTypeOfArray(data);
  } else {
    throw badOutput(backend, `returned output '${output}' whose data is neither a typed array nor an array`, { output });
  }
  if (type === undefined) throw badOutput(backend, `returned output '${output}' of unknown element type`, { output });
  if (array.length !== count) throw badOutput(backend, `returned output '${output}' with ${array.length} values for dims [${(dims as number[]).join(', ')}] (${count})`, { output });
  return { type, dims: dims as number[], data: array };
}

/**
 * Any JavaScript function as a backend: a hand-written scorer, an mljs model, a tfjs model. It takes
 * the feeds as given to `predict` and returns its outputs by name; outputs are checked (dims, length,
 * element type) so that a broken function fails as a backend error the HybridModel can fall back from.
 */
export function functionBackend(name: string, fn: PredictFunction, options: FunctionBackendOptions = {}): Backend {
  checkBackendName(name, 'functionBackend');
  if (typeof fn !== 'function') throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `functionBackend '${name}': expected a function (feeds) => outputs`, { details: { backend: name } });
  checkBackendOptions(options, `functionBackend '${name}'`, ['sizeBytes', 'warmup', 'dispose'], ['warmup', 'dispose']);
  return {
    name,
    ...(options.sizeBytes === undefined ? {} : { sizeBytes: options.sizeBytes }),
    async predict(feeds: Feeds, predictOptions?: PredictOptions): Promise<Record<string, TensorLike>> {
      const raw = await (predictOptions ? fn(feeds, predictOptions) : fn(feeds));
      if (typeof raw !== 'object' || raw === null) throw badOutput(name, `returned ${raw === null ? 'null' : typeof raw} instead of outputs by name`);
      // A model has at least one output: {} is a function that forgot its answer, not an answer to serve.
      if (Object.keys(raw).length === 0) throw badOutput(name, 'returned no outputs');
      const out: Record<string, TensorLike> = {};
      for (const [k, v] of Object.entries(raw)) out[k] = normalize(name, k, v);
      return out;
    },
    async warmup(): Promise<void> {
      await options.warmup?.();
    },
    async dispose(): Promise<void> {
      await options.dispose?.();
    },
  };
}
