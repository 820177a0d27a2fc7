import { ForgeError, ForgeErrorCode, type TypedArray } from '@onnx-forge/core';
import type { FeedValue, Feeds, TensorLike } from '@onnx-forge/runtime';

/** One input of a request in the form the batcher can stack: data with dims, the type when given. */
interface StackableInput {
  readonly type: string | undefined;
  readonly dims: readonly number[];
  readonly data: TypedArray | readonly unknown[];
}

/** A request the batcher can stack with others of the same key. */
export interface StackableRequest {
  /** Inputs by name, the order of `Object.keys`. */
  readonly inputs: ReadonlyMap<string, StackableInput>;
  /** Its size along dim 0 (the same for every input). */
  readonly rows: number;
  /** Requests with the same key have the same input names, types, containers and non-batch dims. */
  readonly key: string;
}

type ArrayCtor = new (n: number) => TypedArray;

function containerName(data: unknown): string | undefined {
  if (Array.isArray(data)) return 'Array';
  if (ArrayBuffer.isView(data) && !(data instanceof DataView)) return data.constructor.name;
  return undefined;
}

/**
 * The stackable form of a request, or undefined when it cannot be stacked: an input given as a bare
 * typed array (no dims), a scalar, a GPU-resident tensor without data, inputs of different sizes
 * along dim 0, or data whose length is not the product of its dims.
 */
export function stackable(feeds: Feeds): StackableRequest | undefined {
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
    if (!dims || dims.length === 0 || !container) return undefined;
    const r = dims[0] as number;
    if (!Number.isInteger(r) || r < 1 || (rows !== undefined && r !== rows)) return undefined;
    // Data that does not fill its dims exactly would shift every row stacked after it (a backend that
    // trusts dims would answer the neighbours from the wrong values): such a request runs alone, where
    // the backend refuses it or answers it alone.
    if (dims.reduce((a, d) => a * d, 1) !== (o.data as ArrayLike<unknown>).length) return undefined;
    rows = r;
    inputs.set(name, { type: o.type, dims, data: o.data as TypedArray | readonly unknown[] });
    parts.push(`${JSON.stringify(name)}:${o.type ?? ''}:${container}:${dims.slice(1).join('x')}`);
  }
  if (rows === undefined) return undefined;
  return { inputs, rows, key: parts.join('|') };
}

/** Stacks requests of one key along dim 0 into one set of feeds. */
export function concatRequests(requests: readonly StackableRequest[]): Feeds {
  const first = requests[0];
  if (!first) throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, 'concatRequests: no requests');
  const total = requests.reduce((a, r) => a + r.rows, 0);
  const feeds: Record<string, FeedValue> = {};
  for (const [name, head] of first.inputs) {
    const dims = [total, ...head.dims.slice(1)];
    let data: TypedArray | unknown[];
    if (Array.isArray(head.data)) {
      // Copied element by element: push(...part) passes every element as an argument, and past about
      // 120,000 of them (a long string tensor) it throws RangeError and fails the whole batch.
      const out: unknown[] = [];
      for (const r of requests) for (const v of r.inputs.get(name)?.data as readonly unknown[]) out.push(v);
      data = out;
    } else {
      const out = new ((head.data as TypedArray).constructor as ArrayCtor)(requests.reduce((a, r) => a + (r.inputs.get(name)?.data.length ?? 0), 0));
      let offset = 0;
      for (const r of requests) {
        const part = r.inputs.get(name)?.data as TypedArray;
        (out as { set(a: ArrayLike<unknown>, o: number): void }).set(part, offset);
        offset += part.length;
      }
      data = out;
    }
    feeds[name] = (head.type === undefined ? { data, dims } : { type: head.type, data, dims }) as FeedValue;
  }
  return feeds;
}

/**
 * Splits the outputs of a stacked run back into one set per request, by rows along dim 0. Every output
 * must have the stacked size as its first dim: one that does not (a batch-wide statistic) cannot be
 * handed back faithfully, so that is an error rather than a guess.
 */
export function splitOutputs(outputs: Readonly<Record<string, TensorLike>>, rows: readonly number[]): Record<string, TensorLike>[] {
  const total = rows.reduce((a, r) => a + r, 0);
  const parts: Record<string, TensorLike>[] = rows.map(() => ({}));
  for (const [name, t] of Object.entries(outputs)) {
    if (t.dims[0] !== total || t.dims.length === 0) {
      throw new ForgeError(
        ForgeErrorCode.RUNTIME,
        `output '${name}' has dims [${t.dims.join(', ')}], not ${total} rows along dim 0 as the ${rows.length} stacked requests: its rows cannot be handed back; use this backend without batched()`,
        { details: { output: name, dims: [...t.dims], rows: total } },
      );
    }
    const per = total === 0 ? 0 : t.data.length / total;
    let row = 0;
    rows.forEach((r, i) => {
      const data = (t.data as TypedArray | readonly string[]).slice(row * per, (row + r) * per) as TensorLike['data'];
      (parts[i] as Record<string, TensorLike>)[name] = { type: t.type, dims: [r, ...t.dims.slice(1)], data };
      row += r;
    });
  }
  return parts;
}
