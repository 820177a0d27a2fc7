import { ForgeError, ForgeErrorCode, errorMessage, isForgeError } from '@onnx-forge/core';
import { type ElementType, type TensorLike, type ValueInfo, arrayCtorFor, tensorFromArray } from '@onnx-forge/runtime';
import { badRequest, httpError } from '../http-error.js';
import { type V2Datatype, elementBytes, elementTypeOf, isV2Datatype, v2DatatypeOf } from './datatypes.js';
import type { InferenceRequest, Parameters, RequestInput, TensorData } from './v2-types.js';

/** The header of Triton's binary tensor extension: length of the JSON part of the body. */
export const HEADER_LENGTH = 'inference-header-content-length';

export interface RequestLimits {
  /** Most tensor elements in one request, over all inputs (checked before anything is allocated). */
  readonly maxElements: number;
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

/** Splits a body into its JSON header and the binary tensor data after it. */
export function splitBody(body: Buffer, headerLength: string | string[] | undefined): { json: Buffer; binary: Buffer } {
  if (headerLength === undefined) return { json: body, binary: body.subarray(body.length) };
  const text = Array.isArray(headerLength) ? headerLength[0] : headerLength;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > body.length) {
    throw badRequest(`header Inference-Header-Content-Length must be the byte length of the JSON part of the body (1 to ${body.length}), got ${JSON.stringify(text)}`);
  }
  return { json: body.subarray(0, n), binary: body.subarray(n) };
}

/** Parses the JSON part of a request: a malformed body is a 400 that says where it broke. */
export function parseJson(json: Buffer): unknown {
  if (json.length === 0) throw badRequest('the request body is empty: send an inference request JSON object ({"inputs": [...]})');
  try {
    return JSON.parse(json.toString('utf8'));
  } catch (e) {
    throw badRequest(`malformed JSON in the request body: ${errorMessage(e)}`);
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

/** Integer values outside the element type's range would wrap silently in a typed array. */
function checkIntRange(name: string, type: ElementType, data: ArrayLike<number>): void {
  const range = INT_RANGE[type];
  if (!range) return;
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    if (v < range[0] || v > range[1]) throw badRequest(`input '${name}': value ${v} at index ${i} is outside the range of ${v2DatatypeOf(type) ?? type} (${range[0]} to ${range[1]})`, { input: name });
  }
}

/** Plain JSON values to a tensor (flat or nested data, row-major). */
function jsonTensor(input: RequestInput, type: ElementType, shape: number[], count: number): TensorLike {
  const data = input.data as TensorData;
  let tensor: TensorLike;
  try {
    tensor = tensorFromArray(data, type, shape);
  } catch (e) {
    if (isForgeError(e, ForgeErrorCode.BAD_INPUT)) throw badRequest(`input '${input.name}': ${e.message}`, { input: input.name });
    throw e;
  }
  if (tensor.data.length !== count) throw badRequest(`input '${input.name}' has ${tensor.data.length} values but shape ${shapeText(shape)} needs ${count}`, { input: input.name });
  if (INT_RANGE[type]) {
    // tensorFromArray already converted: compare against the JSON numbers (a typed array has wrapped them).
    const flat = (data as unknown[]).flat(Number.POSITIVE_INFINITY) as number[];
    checkIntRange(input.name, type, flat);
  }
  return tensor;
}

/** Reads one tensor of the binary tensor extension. */
function binaryTensor(name: string, datatype: V2Datatype, shape: number[], count: number, bytes: Buffer): TensorLike {
  const type = elementTypeOf(datatype);
  if (datatype === 'BYTES') {
    const strings: string[] = [];
    let at = 0;
    while (at < bytes.length) {
      if (at + 4 > bytes.length) throw badRequest(`input '${name}': BYTES element ${strings.length} has a truncated length prefix`, { input: name });
      const len = bytes.readUInt32LE(at);
      at += 4;
      if (at + len > bytes.length) throw badRequest(`input '${name}': BYTES element ${strings.length} says ${len} bytes but only ${bytes.length - at} remain`, { input: name });
      strings.push(bytes.toString('utf8', at, at + len));
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
 * model's rank whose fixed dims match, data (JSON, flat or nested, or binary) that fills the shape
 * exactly with values of the type's range, and requested outputs the model has. Every problem is a 400
 * whose message names the input and what was expected.
 */
export function decodeInferRequest(value: unknown, binary: Buffer, inputs: readonly ValueInfo[], outputNames: readonly string[], limits: RequestLimits): DecodedRequest {
  if (!isObj(value)) throw badRequest('the inference request must be a JSON object with "inputs"');
  const request = value as unknown as InferenceRequest;
  if (request.id !== undefined && typeof request.id !== 'string') throw badRequest('"id" must be a string');
  const params = checkParameters(request.parameters, 'request');
  if (!Array.isArray(request.inputs) || request.inputs.length === 0) throw badRequest('"inputs" must be a non-empty array of {name, shape, datatype, data}');
  const byName = new Map(inputs.map((i) => [i.name, i]));
  const feeds: Record<string, TensorLike> = {};
  let elements = 0;
  let offset = 0;
  for (const [k, raw] of request.inputs.entries()) {
    if (!isObj(raw)) throw badRequest(`inputs[${k}] must be an object {name, shape, datatype, data}`);
    const input = raw as unknown as RequestInput;
    if (typeof input.name !== 'string') throw badRequest(`inputs[${k}].name must be a string`);
    const info = byName.get(input.name);
    if (!info) {
      throw badRequest(`unknown input '${input.name}': the model's inputs are ${inputs.map((i) => `'${i.name}'`).join(', ')}`, { input: input.name, expected: inputs.map((i) => i.name) });
    }
    if (feeds[input.name]) throw badRequest(`input '${input.name}' is given twice`, { input: input.name });
    if (!isV2Datatype(input.datatype)) throw badRequest(`input '${input.name}': unknown datatype ${JSON.stringify(input.datatype)} (one of BOOL, UINT8…UINT64, INT8…INT64, FP16, FP32, FP64, BYTES)`, { input: input.name });
    const want = v2DatatypeOf(info.type);
    if (want !== undefined && input.datatype !== want) {
      throw badRequest(`input '${input.name}' must be ${want}, got ${input.datatype}`, { input: input.name, expected: want, got: input.datatype });
    }
    const shape = input.shape;
    if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw badRequest(`input '${input.name}': shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`, { input: input.name });
    }
    if (info.shape) {
      const declared = info.shape;
      const fits = shape.length === declared.length && declared.every((d, i) => typeof d !== 'number' || d === shape[i]);
      if (!fits) throw badRequest(`input '${input.name}' must have shape ${shapeText(declared)} (-1: any size), got [${shape.join(', ')}]`, { input: input.name, expected: declared, got: shape });
    }
    const count = shape.reduce((a, d) => a * d, 1);
    elements += count;
    if (elements > limits.maxElements) {
      throw httpError(413, ForgeErrorCode.BAD_INPUT, `the request holds more than ${limits.maxElements} tensor elements (input '${input.name}' alone has ${count}); split it into smaller requests`, { input: input.name, maxElements: limits.maxElements });
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
      tensor = jsonTensor(input, elementTypeOf(input.datatype), [...shape], count);
    }
    feeds[input.name] = tensor;
  }
  const missing = inputs.filter((i) => !feeds[i.name]).map((i) => i.name);
  if (missing.length) throw badRequest(`missing input${missing.length > 1 ? 's' : ''} ${missing.map((m) => `'${m}'`).join(', ')}`, { missing });
  if (offset !== binary.length) throw badRequest(`the body has ${binary.length} bytes of binary data after the JSON, but the inputs' binary_data_size add up to ${offset}`);

  const allBinary = params?.binary_data_output === true;
  let outputs: { name: string; binary: boolean }[];
  if (request.outputs === undefined) {
    outputs = outputNames.map((name) => ({ name, binary: allBinary }));
  } else {
    if (!Array.isArray(request.outputs)) throw badRequest('"outputs" must be an array of {name}');
    outputs = request.outputs.map((o, k) => {
      if (!isObj(o) || typeof o.name !== 'string') throw badRequest(`outputs[${k}] must be an object with a name`);
      if (!outputNames.includes(o.name)) throw badRequest(`unknown output '${o.name}': the model's outputs are ${outputNames.map((n) => `'${n}'`).join(', ')}`, { output: o.name });
      const op = checkParameters(o.parameters, `output '${o.name}'`);
      return { name: o.name, binary: op?.binary_data === undefined ? allBinary : op.binary_data === true };
    });
  }
  return { id: request.id, feeds, outputs };
}
