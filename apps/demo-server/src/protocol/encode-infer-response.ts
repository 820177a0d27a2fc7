import { ForgeError, ForgeErrorCode } from '@onnx-forge/core';
import { type TensorLike, fromFloat16 } from '@onnx-forge/runtime';
import { httpError } from '../http-error.js';
import { NON_FINITE, v2DatatypeOf } from './datatypes.js';
import type { InferenceResponse, ResponseOutput } from './v2-types.js';

export interface EncodedResponse {
  /** JSON text, or the JSON header followed by binary tensor data. */
  readonly body: Buffer | string;
  /** Length of the JSON header when `body` carries binary data. */
  readonly headerLength: number | undefined;
}

/** The names of NaN and ±Infinity as JSON strings (NON_FINITE's keys), by value. */
const NON_FINITE_NAME = new Map([...NON_FINITE].map(([name, v]) => [String(v), name]));

/**
 * Floating-point values as JSON: numbers, and for NaN and ±Infinity, which JSON has no number for
 * (JSON.stringify would write null, losing which it was), "NaN", "Infinity" and "-Infinity" as the JSON
 * mapping of protobuf writes them. The decoder takes them back.
 */
function floatValues(d: ArrayLike<number>): (number | string)[] {
  return Array.from(d, (v) => (Number.isFinite(v) ? v : (NON_FINITE_NAME.get(String(v)) as string)));
}

/**
 * INT64 and UINT64 values as JSON text: each BigInt's decimal digits as a number literal, so that every
 * bit arrives (JSON numbers may have any number of digits; JSON.stringify cannot write a BigInt, and a
 * Number would round values beyond ±2^53). A client whose parser reads numbers as doubles still rounds
 * them; one that reads them exactly (or asks for binary data) gets them as the model computed them.
 */
function int64Text(d: BigInt64Array | BigUint64Array): string {
  return `[${d.join(',')}]`;
}

/** Values of a tensor as JSON numbers, booleans or strings, row-major (INT64 and UINT64: see int64Text). */
function jsonValues(t: TensorLike): (number | string | boolean)[] {
  const d = t.data;
  if (t.type === 'float16') return floatValues(fromFloat16(d as Uint16Array));
  if (t.type === 'float32' || t.type === 'float64') return floatValues(d as Float32Array | Float64Array);
  if (t.type === 'bool') return Array.from(d as Uint8Array, (v) => v !== 0);
  if (t.type === 'string') return [...(d as readonly string[])];
  return Array.from(d as ArrayLike<number>);
}

/** An object's JSON text with `more` (JSON text of further members) added at its end. */
function withMembers(value: object, more: string): string {
  const text = JSON.stringify(value);
  return more === '' ? text : `${text.slice(0, -1)}${text === '{}' ? '' : ','}${more}}`;
}

/**
 * `write()`, with JavaScript's refusal of a string past its longest (V8's 2^29 - 24 characters: 32 Mi
 * FP16 values, each written with up to 15 digits) told as a 413 that says to ask for binary data, rather
 * than an internal error. The tensor itself is within --max-output-bytes; only its JSON text is not.
 */
function jsonText(what: string, t: TensorLike | undefined, write: () => string): string {
  try {
    return write();
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    const size = t ? ` (${t.dims.reduce((a, d) => a * d, 1)} values)` : '';
    throw httpError(413, ForgeErrorCode.BAD_INPUT, `${what}${size} would be longer as JSON text than the server can write; ask for it as binary data (parameters.binary_data on the output, or binary_data_output on the request), which carries each value in its own bytes`, {}, e);
  }
}

/** Bytes of a tensor in the binary tensor extension: little-endian, BYTES as length-prefixed UTF-8. */
function binaryValues(t: TensorLike): Buffer {
  if (t.type === 'string') {
    const parts: Buffer[] = [];
    for (const s of t.data as readonly string[]) {
      const b = Buffer.from(s, 'utf8');
      const len = Buffer.alloc(4);
      len.writeUInt32LE(b.length);
      parts.push(len, b);
    }
    return Buffer.concat(parts);
  }
  const d = t.data as ArrayBufferView;
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}

/**
 * The inference response for `outputs` (in the order asked): JSON data, or for outputs asked as
 * binary, a `binary_data_size` parameter and their bytes after the JSON header, in the same order.
 */
export function encodeInferResponse(
  model: { name: string; version: string },
  id: string | undefined,
  results: Readonly<Record<string, TensorLike>>,
  outputs: readonly { readonly name: string; readonly binary: boolean }[],
): EncodedResponse {
  const items: string[] = [];
  const chunks: Buffer[] = [];
  for (const o of outputs) {
    const t = results[o.name];
    if (!t) throw new ForgeError(ForgeErrorCode.RUNTIME, `the model returned no output '${o.name}'`, { details: { output: o.name } });
    const datatype = v2DatatypeOf(t.type);
    if (!datatype) throw new ForgeError(ForgeErrorCode.UNSUPPORTED_TYPE, `output '${o.name}' has type ${t.type}, which the inference protocol cannot carry`, { details: { output: o.name } });
    const item: ResponseOutput = { name: o.name, shape: [...t.dims], datatype };
    if (o.binary) {
      const bytes = binaryValues(t);
      item.parameters = { binary_data_size: bytes.length };
      chunks.push(bytes);
      items.push(JSON.stringify(item));
    } else if (t.data instanceof BigInt64Array || t.data instanceof BigUint64Array) {
      const data = t.data;
      items.push(jsonText(`output '${o.name}'`, t, () => withMembers(item, `"data":${int64Text(data)}`)));
    } else {
      item.data = jsonValues(t);
      items.push(jsonText(`output '${o.name}'`, t, () => JSON.stringify(item)));
    }
  }
  // Written by hand around the outputs: INT64 and UINT64 data is JSON text already (see int64Text).
  const response: Omit<InferenceResponse, 'outputs'> = { model_name: model.name, model_version: model.version, ...(id === undefined ? {} : { id }) };
  const json = jsonText('the answer', undefined, () => withMembers(response, `"outputs":[${items.join(',')}]`));
  if (chunks.length === 0) return { body: json, headerLength: undefined };
  const header = Buffer.from(json, 'utf8');
  return { body: Buffer.concat([header, ...chunks]), headerLength: header.length };
}
