import { ForgeError, ForgeErrorCode, type TypedArray } from '@onnx-forge/core';
import type { FeedValue, Feeds, TensorLike } from '@onnx-forge/runtime';

/**
 * Where the batch runs in each tensor (default: dim 0 of every input and output). A recurrent net's
 * state is often [layers, batch, hidden] (Silero VAD's h and c), a time-major sequence [time, batch,
 * features]. An input mapped to `null` is not batched (a sample rate, a flag): requests stack only with
 * requests whose values there are equal, and the stacked run gets that value once.
 */
export interface BatchLayout {
  readonly inputs?: Readonly<Record<string, number | null>>;
  readonly outputs?: Readonly<Record<string, number>>;
}

/** One input of a request in the form the batcher can stack: data with dims, the type when given. */
interface StackableInput {
  readonly type: string | undefined;
  readonly dims: readonly number[];
  readonly data: TypedArray | readonly unknown[];
  /** The dim stacked along, or null for an input every request of the batch shares. */
  readonly axis: number | null;
}

/** A request the batcher can stack with others of the same key. */
export interface StackableRequest {
  /** Inputs by name, the order of `Object.keys`. */
  readonly inputs: ReadonlyMap<string, StackableInput>;
  /** Its size along the batch dim (the same for every batched input). */
  readonly rows: number;
  /** Requests with the same key have the same input names, types, containers, non-batch dims and shared values. */
  readonly key: string;
}

type ArrayCtor = new (n: number) => TypedArray;

/** Most values a shared (not batched) input may hold: its values are part of the key. */
const MAX_SHARED_VALUES = 64;

function containerName(data: unknown): string | undefined {
  if (Array.isArray(data)) return 'Array';
  if (ArrayBuffer.isView(data) && !(data instanceof DataView)) return data.constructor.name;
  return undefined;
}

/** Product of `dims` from `from` up to (not including) `to`. */
function span(dims: readonly number[], from: number, to = dims.length): number {
  let n = 1;
  for (let k = from; k < to; k++) n *= dims[k] as number;
  return n;
}

/**
 * The stackable form of a request, or undefined when it cannot be stacked: an input given as a bare
 * typed array (no dims), a batched input without the batch dim (a scalar, for the default layout), a
 * GPU-resident tensor without data, batched inputs of different sizes along the batch dim, a shared
 * input of more than 64 values, or data whose length is not the product of its dims.
 */
export function stackable(feeds: Feeds, layout?: BatchLayout): StackableRequest | undefined {
  if (typeof feeds !== 'object' || feeds === null) return undefined;
  const inputs = new Map<string, StackableInput>();
  const parts: string[] = [];
  let rows: number | undefined;
  for (const name of Object.keys(feeds).sort()) {
    const v = feeds[name] as FeedValue | undefined;
    if (typeof v !== 'object' || v === null || ArrayBuffer.isView(v)) return undefined;
    const o = v as { data?: unknown; dims?: readonly number[]; shape?: readonly number[]; type?: string };
    const dims = o.dims ?? o.shape;
    const container = containerName(o.data);
    if (!dims || !container) return undefined;
    // Data that does not fill its dims exactly would shift every row stacked after it (a backend that
    // trusts dims would answer the neighbours from the wrong values): such a request runs alone, where
    // the backend refuses it or answers it alone.
    const data = o.data as TypedArray | readonly unknown[];
    if (span(dims, 0) !== data.length) return undefined;
    const given = layout?.inputs?.[name];
    const axis = given === undefined ? 0 : given;
    if (axis === null) {
      if (data.length > MAX_SHARED_VALUES) return undefined;
      inputs.set(name, { type: o.type, dims, data, axis });
      const values = Array.from(data as ArrayLike<unknown>, (x) => String(x)).join(',');
      parts.push(`${JSON.stringify(name)}:${o.type ?? ''}:${container}:${dims.join('x')}=${values}`);
      continue;
    }
    if (axis >= dims.length) return undefined;
    const r = dims[axis] as number;
    if (!Number.isInteger(r) || r < 1 || (rows !== undefined && r !== rows)) return undefined;
    rows = r;
    inputs.set(name, { type: o.type, dims, data, axis });
    parts.push(`${JSON.stringify(name)}:${o.type ?? ''}:${container}:${dims.map((d, k) => (k === axis ? '*' : d)).join('x')}`);
  }
  if (rows === undefined) return undefined;
  return { inputs, rows, key: parts.join('|') };
}

/**
 * Lays `parts` (each `rows[i]` rows along `axis` of a tensor shaped `dims` otherwise) one after the
 * other along that axis: for every index of the dims before it, each part's rows in turn.
 */
function interleave(parts: readonly (TypedArray | readonly unknown[])[], rows: readonly number[], dims: readonly number[], axis: number): TypedArray | unknown[] {
  const outer = span(dims, 0, axis);
  const inner = span(dims, axis + 1);
  const total = rows.reduce((a, r) => a + r, 0);
  const first = parts[0] as TypedArray | readonly unknown[];
  if (Array.isArray(first)) {
    // Copied element by element: push(...part) passes every element as an argument, and past about
    // 120,000 of them (a long string tensor) it throws RangeError and fails the whole batch.
    const out: unknown[] = [];
    for (let o = 0; o < outer; o++) {
      parts.forEach((p, i) => {
        const n = (rows[i] as number) * inner;
        for (let k = o * n; k < (o + 1) * n; k++) out.push((p as readonly unknown[])[k]);
      });
    }
    return out;
  }
  const out = new ((first as TypedArray).constructor as ArrayCtor)(outer * total * inner);
  let offset = 0;
  for (let o = 0; o < outer; o++) {
    parts.forEach((p, i) => {
      const n = (rows[i] as number) * inner;
      (out as { set(a: ArrayLike<unknown>, o: number): void }).set((p as TypedArray).subarray(o * n, (o + 1) * n), offset);
      offset += n;
    });
  }
  return out;
}

/** Stacks requests of one key along the batch dim of each input (dim 0 unless the layout says otherwise) into one set of feeds. */
export function concatRequests(requests: readonly StackableRequest[]): Feeds {
  const first = requests[0];
  if (!first) throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, 'concatRequests: no requests');
  const total = requests.reduce((a, r) => a + r.rows, 0);
  const rows = requests.map((r) => r.rows);
  const feeds: Record<string, FeedValue> = {};
  for (const [name, head] of first.inputs) {
    let dims = head.dims;
    let data: TypedArray | readonly unknown[] = head.data;
    if (head.axis !== null) {
      dims = head.dims.map((d, k) => (k === head.axis ? total : d));
      data = interleave(requests.map((r) => r.inputs.get(name)?.data as TypedArray | readonly unknown[]), rows, dims, head.axis);
    }
    feeds[name] = (head.type === undefined ? { data, dims } : { type: head.type, data, dims }) as FeedValue;
  }
  return feeds;
}

/**
 * Splits the outputs of a stacked run back into one set per request, by rows along each output's batch
 * dim (dim 0 unless the layout says otherwise). Every output must have the stacked size there: one that
 * does not (a batch-wide statistic) cannot be handed back faithfully, so that is an error rather than a
 * guess.
 */
export function splitOutputs(outputs: Readonly<Record<string, TensorLike>>, rows: readonly number[], layout?: BatchLayout): Record<string, TensorLike>[] {
  const total = rows.reduce((a, r) => a + r, 0);
  const parts: Record<string, TensorLike>[] = rows.map(() => ({}));
  for (const [name, t] of Object.entries(outputs)) {
    const axis = layout?.outputs?.[name] ?? 0;
    if (t.dims.length <= axis || t.dims[axis] !== total) {
      throw new ForgeError(
        ForgeErrorCode.RUNTIME,
        `output '${name}' has dims [${t.dims.join(', ')}], not ${total} rows along dim ${axis} as the ${rows.length} stacked requests: its rows cannot be handed back; use this backend without batched()`,
        { details: { output: name, dims: [...t.dims], rows: total, axis } },
      );
    }
    const outer = span(t.dims, 0, axis);
    const inner = span(t.dims, axis + 1);
    const source = t.data as TypedArray | readonly string[];
    let row = 0;
    rows.forEach((r, i) => {
      const n = r * inner;
      let data: TensorLike['data'];
      if (outer === 1) {
        data = source.slice(row * inner, row * inner + n) as TensorLike['data'];
      } else if (Array.isArray(source)) {
        const out: string[] = [];
        for (let o = 0; o < outer; o++) for (let k = 0; k < n; k++) out.push(source[(o * total + row) * inner + k] as string);
        data = out;
      } else {
        const typed = source as TypedArray;
        const out = new (typed.constructor as ArrayCtor)(outer * n);
        for (let o = 0; o < outer; o++) (out as { set(a: ArrayLike<unknown>, o: number): void }).set(typed.subarray((o * total + row) * inner, (o * total + row) * inner + n), o * n);
        data = out as TensorLike['data'];
      }
      (parts[i] as Record<string, TensorLike>)[name] = { type: t.type, dims: t.dims.map((d, k) => (k === axis ? r : d)), data };
      row += r;
    });
  }
  return parts;
}
