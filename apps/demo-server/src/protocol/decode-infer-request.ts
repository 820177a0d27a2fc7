import { isUtf8 } from 'node:buffer';
import { ForgeError, ForgeErrorCode, errorMessage, isForgeError } from '@onnx-forge/core';
import { type ElementType, type TensorLike, type ValueInfo, arrayCtorFor, tensorFromArray } from '@onnx-forge/runtime';
import { badRequest, httpError } from '../http-error.js';
import { type SizedTensor, checkSizedTensors } from '../models/output-bound.js';
import { NON_FINITE, type V2Datatype, elementBytes, elementTypeOf, isV2Datatype, v2DatatypeOf } from './datatypes.js';
import type { InferenceRequest, Parameters, RequestInput } from './v2-types.js';

/** The header of Triton's binary tensor extension: length of the JSON part of the body. */
export const HEADER_LENGTH = 'inference-header-content-length';

export interface RequestLimits {
  /** Most tensor elements in one request, over all inputs (checked before anything is allocated). */
  readonly maxElements: number;
  /** Most bytes of a tensor whose size the request's values fix (see SizedTensor), checked once the feeds are decoded. */
  readonly maxOutputBytes?: number;
}

/** What a model adds to the checks its metadata allows (see LoadedModel.requestRules). */
export interface ModelRequestRules {
  /** Outputs that are not tensors (sequences, maps): listed by the model, never returned. */
  readonly nonTensorOutputs?: readonly string[];
  /** Inputs the graph declares as scalars: one value, given with shape [] (or [1]). */
  readonly scalarInputs?: ReadonlySet<string>;
  /** Why this model cannot take an empty tensor (a dim of 0), when it cannot. */
  readonly noEmptyTensors?: string;
  /** Tensors of the model whose size a request's values fix (ConstantOfShape's shape given by an input...). */
  readonly sizedTensors?: readonly SizedTensor[];
}

/** What decoding a request needs to know of the model it is for: plain data, so that a worker can be given it. */
export interface ModelRequestSpec {
  readonly inputs: readonly ValueInfo[];
  readonly outputNames: readonly string[];
  readonly limits: RequestLimits;
  readonly rules: ModelRequestRules;
}

export interface DecodedRequest {
  readonly id: string | undefined;
  readonly feeds: Record<string, TensorLike>;
  /** Outputs to return, in order, and whether each goes back as binary data. */
  readonly outputs: readonly { readonly name: string; readonly binary: boolean }[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const INT_RANGE: Partial<Record<ElementType, readonly [number, number]>> = {
  int8: [-128, 127], uint8: [0, 255], int16: [-32768, 32767], uint16: [0, 65535], int32: [-2147483648, 2147483647], uint32: [0, 4294967295],
};

/** The largest dim onnxruntime-node takes in a tensor's shape (it refuses more even when another dim is 0). */
const MAX_DIM = 4294967295;

/** FP32's largest finite value (a larger JSON number may still round down to it: Math.fround decides). */
const FP32_MAX = 3.4028234663852886e38;

/** Halfway between FP16's largest value (65504) and the next power of two: from here on, a value rounds to infinity. */
const FP16_OVERFLOW = 65520;

const isFloat = (datatype: V2Datatype): boolean => datatype === 'FP16' || datatype === 'FP32' || datatype === 'FP64';

/** Why onnxruntime-node cannot take some BYTES elements as they are (the reason in each refusal). */
const BYTES_TEXT = 'onnxruntime-node carries BYTES tensors as UTF-8 text without NUL bytes';

/** A UTF-16 surrogate without its other half: no UTF-8 text holds one (it would turn into U+FFFD). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** JSON strings (skipped whole, so that digits inside them are not read) and JSON numbers. */
const JSON_STRING_OR_NUMBER = /"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;

/**
 * The text a number was written as in the request's JSON, when JSON.parse changed it (an integer
 * beyond ±2^53 rounded, a number past the doubles' range become infinity) and the text can still be
 * told: when exactly one way of writing it in the body parses to `value`. Otherwise undefined, and a
 * message says no value rather than the rounded one. Runs only for a request being refused.
 */
function writtenAs(json: Buffer | undefined, value: number): string | undefined {
  if (!json) return undefined;
  const found = new Set<string>();
  for (const [token] of json.toString('utf8').matchAll(JSON_STRING_OR_NUMBER)) {
    if (token.charCodeAt(0) !== 0x22 && Number(token) === value) found.add(token);
    if (found.size > 1) return undefined;
  }
  const [only] = found;
  return only;
}

/** Splits a body into its JSON header and the binary tensor data after it. */
export function splitBody(body: Buffer, headerLength: string | string[] | undefined): { json: Buffer; binary: Buffer } {
  if (headerLength === undefined) return { json: body, binary: body.subarray(body.length) };
  const text = Array.isArray(headerLength) ? headerLength[0] : headerLength;
  // Decimal digits only: Number() would also read '0x0d', '1.3e1', '+13' and ' 13 ' as a length.
  const n = typeof text === 'string' && /^[1-9][0-9]*$/.test(text) ? Number(text) : Number.NaN;
  if (!(n >= 1 && n <= body.length)) {
    throw badRequest(`header Inference-Header-Content-Length must be the byte length of the JSON part of the body (1 to ${body.length}), got ${JSON.stringify(text)}`);
  }
  return { json: body.subarray(0, n), binary: body.subarray(n) };
}

/** JSON's whitespace: space, tab, line feed, carriage return. */
const isJsonSpace = (b: number): boolean => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;

/**
 * The byte length of the JSON object or array that opens `body` (after any whitespace), or undefined
 * when none closes. Structural bytes only: in UTF-8 no byte of a multi-byte character is below 0x80,
 * so the bytes are scanned as they are.
 */
function leadingJsonLength(body: Buffer): number | undefined {
  let i = 0;
  while (i < body.length && isJsonSpace(body[i] as number)) i++;
  if (body[i] !== 0x7b && body[i] !== 0x5b) return undefined; // { or [
  let depth = 0;
  let inString = false;
  for (; i < body.length; i++) {
    const c = body[i];
    if (inString) {
      if (c === 0x5c) i++; // \ escapes the next byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      depth++;
    } else if ((c === 0x7d || c === 0x5d) && --depth === 0) {
      return i + 1;
    }
  }
  return undefined;
}

/**
 * Parses the JSON part of a request: a malformed body is a 400 that says where it broke. With
 * `binaryHeaderMissing` (an infer request without Inference-Header-Content-Length), a body whose JSON
 * is whole up to a point and followed by bytes that are not JSON is most likely binary tensor data
 * sent without the header: the 400 says so, and gives the header's value.
 */
export function parseJson(body: Buffer, options: { readonly binaryHeaderMissing?: boolean } = {}): unknown {
  // A UTF-8 byte order mark (a file saved "with BOM", then sent as it is): RFC 8259 lets a parser ignore it.
  const json = body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf ? body.subarray(3) : body;
  if (json.length === 0) throw badRequest('the request body is empty: send an inference request JSON object ({"inputs": [...]})');
  try {
    return JSON.parse(json.toString('utf8'));
  } catch (e) {
    let hint = '';
    const n = options.binaryHeaderMissing ? leadingJsonLength(json) : undefined;
    if (n !== undefined && json.subarray(n).some((b) => !isJsonSpace(b)) && parses(json.subarray(0, n))) {
      // The header counts a byte order mark as part of the JSON.
      const length = n + body.length - json.length;
      hint = `; the body is ${length} bytes of JSON followed by ${json.length - n} bytes that are not: to send binary tensor data after the JSON, give the header Inference-Header-Content-Length: ${length} (the byte length of the JSON part)`;
    }
    throw badRequest(`malformed JSON in the request body: ${errorMessage(e)}${hint}`);
  }
}

function parses(json: Buffer): boolean {
  try {
    JSON.parse(json.toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

function shapeText(shape: readonly (number | string)[] | undefined): string {
  return shape ? `[${shape.map((d) => (typeof d === 'number' ? d : -1)).join(', ')}]` : '(any shape)';
}

function checkParameters(p: unknown, where: string): Parameters | undefined {
  if (p === undefined) return undefined;
  if (!isObj(p)) throw badRequest(`${where}.parameters must be an object`);
  return p as Parameters;
}

/** A boolean parameter of the binary extension, or undefined when absent ("true" or 1 is refused, as Triton does). */
function flag(p: Parameters | undefined, key: 'binary_data_output' | 'binary_data', where: string): boolean | undefined {
  const v = p?.[key];
  if (v === undefined || typeof v === 'boolean') return v;
  throw badRequest(`${where} parameter ${key} must be true or false, got ${quote(v)}`);
}

/**
 * JSON numbers the datatype cannot hold as they are: integers outside the type's range (they would
 * wrap silently in a typed array), INT64 and UINT64 integers beyond ±2^53 (JSON parsing has rounded
 * them already, so the value is not the one the client wrote), and finite numbers that FP32 or FP16
 * holds only as infinity.
 */
function checkRange(name: string, datatype: V2Datatype, data: readonly number[], json: Buffer | undefined): void {
  const range = INT_RANGE[elementTypeOf(datatype)];
  const refuse = (i: number, why: string) => badRequest(`input '${name}': value ${data[i]} at index ${i} ${why}`, { input: name, index: i });
  const integers = !isFloat(datatype);
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    if (integers && !Number.isInteger(v)) throw refuse(i, `is not an integer: ${datatype} data takes whole numbers`);
    if (range) {
      if (v < range[0] || v > range[1]) throw refuse(i, `is outside the range of ${datatype} (${range[0]} to ${range[1]})`);
    } else if (datatype === 'INT64' || datatype === 'UINT64') {
      if (Number.isInteger(v) && !Number.isSafeInteger(v)) {
        // JSON.parse has rounded it: quote it as written, or not at all (the rounded value was never sent).
        const written = writtenAs(json, v);
        const why = `is beyond ±2^53, where JSON numbers lose precision: send ${datatype} values this large as binary data`;
        throw badRequest(`input '${name}': ${written === undefined ? 'the value' : `value ${written}`} at index ${i} ${why}`, { input: name, index: i });
      }
      if (datatype === 'UINT64' && v < 0) throw refuse(i, 'is outside the range of UINT64 (0 to 18446744073709551615)');
    } else if (datatype === 'FP32') {
      if (Number.isFinite(v) && !Number.isFinite(Math.fround(v))) throw refuse(i, `is outside the range of FP32 (±${FP32_MAX})`);
    } else if (datatype === 'FP16') {
      if (Number.isFinite(v) && Math.abs(v) >= FP16_OVERFLOW) throw refuse(i, 'is outside the range of FP16 (±65504)');
    }
  }
}

/** A JSON value as a message quotes it (long ones cut short). */
function quote(v: unknown): string {
  const text = v === undefined ? 'undefined' : JSON.stringify(v);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** `data[i][j]...` of the element at flat index `flat` of data nested as `dims`. */
function position(flat: number, dims: readonly number[]): string {
  if (dims.length <= 1) return `index ${flat}`;
  const at: number[] = [];
  let rest = flat;
  for (let k = dims.length - 1; k >= 0; k--) {
    const d = dims[k] as number;
    at.unshift(rest % d);
    rest = Math.floor(rest / d);
  }
  return `data${at.map((i) => `[${i}]`).join('')} (index ${flat})`;
}

/**
 * Whether a JSON value may be an element of a tensor of `datatype`: BOOL takes JSON booleans, BYTES
 * JSON strings, every other datatype JSON numbers (the protocol's JSON tensor encoding, and Triton's
 * rule: it refuses 1 in a BOOL tensor and true in an FP32 one). Undefined when it may, else why not.
 */
function elementProblem(v: unknown, datatype: V2Datatype): string | undefined {
  if (datatype === 'BOOL') return typeof v === 'boolean' ? undefined : 'is not a boolean: BOOL data takes JSON true or false';
  if (datatype === 'BYTES') {
    if (typeof v !== 'string') return 'is not a string: BYTES data takes JSON strings';
    if (v.includes('\0')) return `holds a NUL character (\\u0000), where onnxruntime would cut it short: ${BYTES_TEXT}`;
    if (LONE_SURROGATE.test(v)) return `holds half a UTF-16 surrogate pair, which is not text (UTF-8 has no such character): ${BYTES_TEXT}`;
    return undefined;
  }
  if (typeof v === 'number') return undefined;
  if (typeof v === 'boolean') return `is not a number: ${datatype} data takes JSON numbers (true and false go in BOOL tensors)`;
  if (typeof v === 'string' && isFloat(datatype)) {
    if (NON_FINITE.has(v)) return undefined;
    // Another spelling of one of those: say which are taken.
    if (/^[+-]?(nan|inf(inity)?)$/i.test(v)) return `is not a number: ${datatype} data takes JSON numbers ("NaN", "Infinity" and "-Infinity" for those values)`;
  }
  return `is not a number: ${datatype} data takes JSON numbers${typeof v === 'string' && datatype.endsWith('INT64') ? ' (send int64 values beyond ±2^53 as binary data)' : ''}`;
}

/** The nesting of JSON data: the length of each level, along its first elements. */
function nesting(data: readonly unknown[]): number[] {
  const dims: number[] = [];
  let v: unknown = data;
  while (Array.isArray(v)) {
    dims.push(v.length);
    v = v[0];
  }
  return dims;
}

/** Where data nested as `dims` (along its first elements) stops being rectangular, if it does. */
function raggedness(data: readonly unknown[], dims: readonly number[]): string | undefined {
  const walk = (node: unknown, depth: number, at: string, first: string): string | undefined => {
    if (depth === dims.length) return Array.isArray(node) ? `${at} is an array where ${first} is a value` : undefined;
    if (!Array.isArray(node)) return `${at} is a value where ${first} is an array`;
    if (node.length !== dims[depth]) return `${at} holds ${node.length} values where ${first} holds ${dims[depth]}`;
    for (let i = 0; i < node.length; i++) {
      const problem = walk(node[i], depth + 1, `${at}[${i}]`, `${first}[0]`);
      if (problem) return problem;
    }
    return undefined;
  };
  return walk(data, 0, 'data', 'data');
}

/** Dims as a message gives them, or how deep they go when there are too many to list. */
function nestingText(dims: readonly number[]): string {
  return dims.length > 16 ? `${dims.length} levels deep` : shapeText(dims);
}

/**
 * Plain JSON values to a tensor. The data is flat (as many values as the shape holds) or nested exactly
 * as the shape (each level as long as its dimension, values innermost), row-major either way; each
 * value of the JSON type the datatype takes.
 */
function jsonTensor(input: RequestInput, datatype: V2Datatype, shape: number[], count: number, json: Buffer | undefined): TensorLike {
  const name = input.name;
  const data = input.data as readonly unknown[];
  const hint = `give it flat (${count} values) or nested as the shape`;
  let dims: readonly number[] = [data.length];
  let flat: readonly unknown[] = data;
  if (data.some((v) => Array.isArray(v))) {
    const found = nesting(data);
    // Deeper than the shape is wrong however it goes on (and is not walked: it may be very deep).
    const ragged = found.length > shape.length ? undefined : raggedness(data, found);
    if (ragged) throw badRequest(`input '${name}': data is not rectangular: ${ragged}; ${hint} ${shapeText(shape)}`, { input: name });
    // An empty level ends the nesting: [[], []] is nested as [2, 0, ...] whatever the dims after the 0.
    const same = found.every((d, i) => d === shape[i]);
    const fits = same && (found.length === shape.length || (found.length < shape.length && found[found.length - 1] === 0));
    if (!fits) {
      throw badRequest(`input '${name}': data nested as ${nestingText(found)} does not match shape ${shapeText(shape)}; ${hint}`, { input: name, expected: shape, got: found.length > 16 ? found.length : found });
    }
    dims = found;
    flat = data.flat(found.length);
  } else if (data.length !== count) {
    throw badRequest(`input '${name}' has ${data.length} values but shape ${shapeText(shape)} needs ${count}`, { input: name });
  }
  for (let i = 0; i < flat.length; i++) {
    const v = flat[i];
    const problem = elementProblem(v, datatype);
    if (problem) throw badRequest(`input '${name}': value ${quote(v)} at ${position(i, dims)} ${problem}`, { input: name, index: i });
    // JSON has no infinity literal: a number that parsed as one was past the doubles' range (1e400).
    if (typeof v === 'number' && !Number.isFinite(v)) {
      const written = writtenAs(json, v);
      const hint = isFloat(datatype) ? `; to send ${v > 0 ? '' : 'minus '}infinity, write "${v > 0 ? 'Infinity' : '-Infinity'}"` : '';
      throw badRequest(`input '${name}': ${written === undefined ? 'the number' : `value ${written}`} at ${position(i, dims)} is beyond the range of JSON numbers this server reads (±${Number.MAX_VALUE}), so JSON parsing made it ${v > 0 ? '' : 'minus '}infinity${hint}`, { input: name, index: i });
    }
  }
  if (isFloat(datatype) && flat.some((v) => typeof v === 'string')) flat = flat.map((v) => (typeof v === 'string' ? NON_FINITE.get(v) : v));
  if (datatype !== 'BOOL' && datatype !== 'BYTES') checkRange(name, datatype, flat as readonly number[], json);
  const type = elementTypeOf(datatype);
  try {
    return tensorFromArray(flat as readonly (number | string | boolean)[], type, shape);
  } catch (e) {
    if (isForgeError(e, ForgeErrorCode.BAD_INPUT)) throw badRequest(`input '${name}': ${e.message}`, { input: name });
    throw e;
  }
}

/** Reads one tensor of the binary tensor extension. */
function binaryTensor(name: string, datatype: V2Datatype, shape: number[], count: number, bytes: Buffer): TensorLike {
  const type = elementTypeOf(datatype);
  if (datatype === 'BYTES') {
    const strings: string[] = [];
    let at = 0;
    while (at < bytes.length) {
      // More data than the shape's elements: refused here, before reading (and allocating) the rest.
      if (strings.length === count) {
        throw badRequest(`input '${name}': the BYTES data holds more than the ${count} element${count === 1 ? '' : 's'} shape ${shapeText(shape)} needs: ${bytes.length - at} bytes remain${count ? ` after element ${count - 1}` : ''}`, { input: name });
      }
      if (at + 4 > bytes.length) throw badRequest(`input '${name}': BYTES element ${strings.length} has a truncated length prefix`, { input: name });
      const len = bytes.readUInt32LE(at);
      at += 4;
      if (at + len > bytes.length) throw badRequest(`input '${name}': BYTES element ${strings.length} says ${len} bytes but only ${bytes.length - at} remain`, { input: name });
      const element = bytes.subarray(at, at + len);
      const nul = element.indexOf(0);
      if (nul >= 0) throw badRequest(`input '${name}': BYTES element ${strings.length} holds a NUL byte (at byte ${nul}), where onnxruntime would cut it short: ${BYTES_TEXT}`, { input: name, index: strings.length });
      if (!isUtf8(element)) throw badRequest(`input '${name}': BYTES element ${strings.length} is not valid UTF-8, and would reach the model with U+FFFD in place of its bytes: ${BYTES_TEXT}`, { input: name, index: strings.length });
      strings.push(element.toString('utf8'));
      at += len;
    }
    if (strings.length !== count) throw badRequest(`input '${name}' has ${strings.length} BYTES elements but shape ${shapeText(shape)} needs ${count}`, { input: name });
    return { type, dims: shape, data: strings };
  }
  const size = elementBytes(datatype) as number;
  if (bytes.length !== count * size) {
    throw badRequest(`input '${name}': binary_data_size is ${bytes.length} bytes but shape ${shapeText(shape)} of ${datatype} needs ${count * size}`, { input: name });
  }
  const Ctor = arrayCtorFor(type);
  if (!Ctor) throw new ForgeError(ForgeErrorCode.INTERNAL, `no typed array for ${type}`);
  // Copied into a fresh buffer: the body's offset need not be aligned for the element size. The
  // extension is little-endian, as are the machines onnxruntime runs on (x86-64, arm64).
  const data = new Ctor(count);
  const copy = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  copy.set(bytes);
  if (datatype === 'BOOL') for (let i = 0; i < copy.length; i++) copy[i] = copy[i] ? 1 : 0;
  return { type, dims: shape, data: data as TensorLike['data'] };
}

/**
 * Checks an inference request against the model it is for, before anything runs, and turns it into
 * feeds: every input named by the model and none twice, each with the model's datatype, a shape of the
 * model's rank whose fixed dims match, data (binary, or JSON flat or nested exactly as the shape, with
 * the JSON type the datatype takes) that fills the shape exactly with values of the type's range, and
 * requested outputs the model has. Every problem is a 400 whose message names the input and what was
 * expected. `json`, the JSON text `value` was parsed from, lets a refusal quote a number JSON.parse
 * changed (an integer beyond ±2^53, a number past the doubles' range) as the client wrote it.
 */
export function decodeInferRequest(
  value: unknown,
  binary: Buffer,
  inputs: readonly ValueInfo[],
  outputNames: readonly string[],
  limits: RequestLimits,
  rules: ModelRequestRules = {},
  json?: Buffer,
): DecodedRequest {
  if (!isObj(value)) throw badRequest('the inference request must be a JSON object with "inputs"');
  const request = value as unknown as InferenceRequest;
  if (request.id !== undefined && typeof request.id !== 'string') throw badRequest('"id" must be a string');
  const params = checkParameters(request.parameters, 'request');
  // A model without inputs (a constant table, a generator) is asked with {"inputs": []}: only for it may the list be empty.
  if (inputs.length === 0 && !Array.isArray(request.inputs)) throw badRequest('"inputs" must be an array: [] for this model, which has no inputs');
  if (!Array.isArray(request.inputs) || (request.inputs.length === 0 && inputs.length > 0)) throw badRequest('"inputs" must be a non-empty array of {name, shape, datatype, data}');
  const byName = new Map(inputs.map((i) => [i.name, i]));
  // A Map, not a plain object: an input may be named like a member of Object.prototype ('constructor').
  const feeds = new Map<string, TensorLike>();
  let elements = 0;
  let offset = 0;
  for (const [k, raw] of request.inputs.entries()) {
    if (!isObj(raw)) throw badRequest(`inputs[${k}] must be an object {name, shape, datatype, data}`);
    const input = raw as unknown as RequestInput;
    if (typeof input.name !== 'string') throw badRequest(`inputs[${k}].name must be a string`);
    const info = byName.get(input.name);
    if (!info) {
      const known = inputs.length ? `the model's inputs are ${inputs.map((i) => `'${i.name}'`).join(', ')}` : 'the model has no inputs (send "inputs": [])';
      throw badRequest(`unknown input '${input.name}': ${known}`, { input: input.name, expected: inputs.map((i) => i.name) });
    }
    if (feeds.has(input.name)) throw badRequest(`input '${input.name}' is given twice`, { input: input.name });
    if (!isV2Datatype(input.datatype)) throw badRequest(`input '${input.name}': unknown datatype ${JSON.stringify(input.datatype)} (one of BOOL, UINT8…UINT64, INT8…INT64, FP16, FP32, FP64, BYTES)`, { input: input.name });
    const want = v2DatatypeOf(info.type);
    if (want !== undefined && input.datatype !== want) {
      throw badRequest(`input '${input.name}' must be ${want}, got ${input.datatype}`, { input: input.name, expected: want, got: input.datatype });
    }
    const shape = input.shape;
    if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw badRequest(`input '${input.name}': shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`, { input: input.name });
    }
    const huge = shape.findIndex((d) => d > MAX_DIM);
    if (huge >= 0) throw badRequest(`input '${input.name}': dim ${huge} of shape [${shape.join(', ')}] is larger than ${MAX_DIM}, the most onnxruntime takes`, { input: input.name });
    if (info.shape) {
      const declared = info.shape;
      const fits = shape.length === declared.length && declared.every((d, i) => typeof d !== 'number' || d === shape[i]);
      if (!fits) throw badRequest(`input '${input.name}' must have shape ${shapeText(declared)} (-1: any size), got [${shape.join(', ')}]`, { input: input.name, expected: declared, got: shape });
    }
    const count = shape.reduce((a, d) => a * d, 1);
    // onnxruntime does not check a scalar's rank: [1] runs as [] does, more values fail inside the model.
    if (rules.scalarInputs?.has(input.name) && (count !== 1 || shape.length > 1)) {
      throw badRequest(`input '${input.name}' is a scalar: give it shape [] and one value, got shape [${shape.join(', ')}]`, { input: input.name, expected: [], got: shape });
    }
    if (rules.noEmptyTensors !== undefined && count === 0) {
      throw badRequest(`input '${input.name}' is empty (shape [${shape.join(', ')}]), which this model cannot take: ${rules.noEmptyTensors}`, { input: input.name, got: shape });
    }
    elements += count;
    if (elements > limits.maxElements) {
      // Counted exactly for the message: a product of large dims is past a double's integers.
      const exact = shape.reduce((a, d) => a * BigInt(d), 1n);
      throw httpError(413, ForgeErrorCode.BAD_INPUT, `the request holds more than ${limits.maxElements} tensor elements (input '${input.name}' alone has ${exact}); split it into smaller requests`, { input: input.name, maxElements: limits.maxElements });
    }
    const p = checkParameters(input.parameters, `input '${input.name}'`);
    const size = p?.binary_data_size;
    let tensor: TensorLike;
    if (size !== undefined) {
      if (!Number.isInteger(size) || size < 0) throw badRequest(`input '${input.name}': binary_data_size must be a non-negative integer`, { input: input.name });
      if (input.data !== undefined) throw badRequest(`input '${input.name}' has both binary_data_size and data: send one`, { input: input.name });
      if (offset + size > binary.length) {
        throw badRequest(`input '${input.name}' needs ${size} bytes of binary data at offset ${offset}, but the body has ${binary.length} after the JSON (is Inference-Header-Content-Length set?)`, { input: input.name });
      }
      tensor = binaryTensor(input.name, input.datatype, [...shape], count, binary.subarray(offset, offset + size));
      offset += size;
    } else {
      if (!Array.isArray(input.data)) throw badRequest(`input '${input.name}': data must be an array (flat or nested, row-major), or use binary_data_size`, { input: input.name });
      tensor = jsonTensor(input, input.datatype, [...shape], count, json);
    }
    feeds.set(input.name, tensor);
  }
  const missing = inputs.filter((i) => !feeds.has(i.name)).map((i) => i.name);
  if (missing.length) throw badRequest(`missing input${missing.length > 1 ? 's' : ''} ${missing.map((m) => `'${m}'`).join(', ')}`, { missing });
  if (offset !== binary.length) throw badRequest(`the body has ${binary.length} bytes of binary data after the JSON, but the inputs' binary_data_size add up to ${offset}`);

  const allBinary = flag(params, 'binary_data_output', 'request') ?? false;
  let outputs: { name: string; binary: boolean }[];
  if (request.outputs !== undefined && !Array.isArray(request.outputs)) throw badRequest('"outputs" must be an array of {name}');
  // None asked for, or an empty list: every output (as Triton and KServe answer both).
  if (request.outputs === undefined || request.outputs.length === 0) {
    outputs = outputNames.map((name) => ({ name, binary: allBinary }));
  } else {
    outputs = [];
    for (const [k, o] of request.outputs.entries()) {
      if (!isObj(o) || typeof o.name !== 'string') throw badRequest(`outputs[${k}] must be an object with a name`);
      if (rules.nonTensorOutputs?.includes(o.name)) {
        const others = outputNames.length ? `ask for its tensor outputs: ${outputNames.map((n) => `'${n}'`).join(', ')}` : 'the model has no tensor output';
        throw httpError(400, ForgeErrorCode.UNSUPPORTED_TYPE, `output '${o.name}' is not a tensor (a sequence or map), which the inference protocol cannot carry and onnxruntime-node cannot return; ${others}`, { output: o.name });
      }
      if (!outputNames.includes(o.name)) throw badRequest(`unknown output '${o.name}': the model's outputs are ${outputNames.map((n) => `'${n}'`).join(', ')}`, { output: o.name });
      if (outputs.some((x) => x.name === o.name)) throw badRequest(`output '${o.name}' is asked for twice`, { output: o.name });
      const op = checkParameters(o.parameters, `output '${o.name}'`);
      // Triton's classification extension (not implemented here, nor listed by GET /v2): answering the raw
      // tensor would have the client read it as "<value>:<index>" strings. A count of 0 asks for none.
      const classes = op?.classification;
      if (classes !== undefined && classes !== 0) {
        const top = typeof classes === 'number' && Number.isInteger(classes) && classes > 0 ? `its top ${classes}` : 'the top classes';
        throw badRequest(`output '${o.name}': parameter classification asks for the classification extension, which this server does not implement (GET /v2 lists its extensions); ask for the tensor itself and take ${top} from it`, { output: o.name });
      }
      outputs.push({ name: o.name, binary: flag(op, 'binary_data', `output '${o.name}':`) ?? allBinary });
    }
  }
  // Own properties all (Object.fromEntries defines '__proto__' as one, where assigning it would not).
  const decoded = Object.fromEntries(feeds);
  if (rules.sizedTensors?.length && limits.maxOutputBytes !== undefined) checkSizedTensors(rules.sizedTensors, decoded, limits.maxOutputBytes);
  return { id: request.id, feeds: decoded, outputs };
}

/**
 * An infer request's body, split by splitBody, to feeds: parses the JSON part (parseJson) and decodes it
 * (decodeInferRequest). The server runs this inline for small bodies and in a codec worker for large
 * ones (see CodecPool); either way it is this function, so both refuse a request alike.
 */
export function decodeInferBody(json: Buffer, binary: Buffer, binaryHeaderMissing: boolean, spec: ModelRequestSpec): DecodedRequest {
  return decodeInferRequest(parseJson(json, { binaryHeaderMissing }), binary, spec.inputs, spec.outputNames, spec.limits, spec.rules, json);
}
