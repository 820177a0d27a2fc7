import { ForgeError, type ForgeErrorCode, errorMessage, isForgeError } from '@onnx-forge/core';
import type { TensorLike } from '@onnx-forge/runtime';
import type { DecodedRequest, ModelRequestSpec } from './decode-infer-request.js';
import type { EncodedResponse } from './encode-infer-response.js';

/** The server to a codec worker: decode a request body, or encode a response. */
export type CodecJob =
  | {
      readonly kind: 'decode';
      /** The whole body (a copy the worker owns); the JSON part is its first `jsonLength` bytes, binary tensor data the rest. */
      readonly body: Uint8Array;
      readonly jsonLength: number;
      readonly binaryHeaderMissing: boolean;
      readonly spec: ModelRequestSpec;
    }
  | {
      readonly kind: 'encode';
      readonly model: { readonly name: string; readonly version: string };
      readonly id: string | undefined;
      readonly results: Readonly<Record<string, TensorLike>>;
      readonly outputs: readonly { readonly name: string; readonly binary: boolean }[];
    };

/** An encoded response as a worker hands it back: the body always as bytes (the same bytes as the text). */
export interface WireEncoded {
  readonly body: Uint8Array;
  readonly headerLength: EncodedResponse['headerLength'];
}

/**
 * An error thrown in a worker, as it crosses: a ForgeError keeps its code, message and details (the
 * HTTP status among them), so the server answers it exactly as if it had been thrown inline; anything
 * else keeps its message only, and answers 500 as an unexpected error does inline.
 */
export type WireError = { readonly forge: true; readonly code: string; readonly message: string; readonly details: Record<string, unknown> } | { readonly forge: false; readonly message: string };

export type CodecReply =
  | { readonly id: number; readonly ok: true; readonly decoded: DecodedRequest }
  | { readonly id: number; readonly ok: true; readonly encoded: WireEncoded }
  | { readonly id: number; readonly ok: false; readonly error: WireError };

export function toWireError(e: unknown): WireError {
  if (isForgeError(e)) return { forge: true, code: e.code, message: e.message, details: { ...e.details } };
  return { forge: false, message: errorMessage(e) };
}

export function fromWireError(e: WireError): Error {
  return e.forge ? new ForgeError(e.code as ForgeErrorCode, e.message, { details: e.details }) : new Error(e.message);
}

/**
 * The buffers of typed arrays that may move to the other thread rather than be copied: each once, and
 * only a buffer the array has to itself (not a slice of Node's shared Buffer pool, nor of a batch's output).
 */
export function ownBuffers(tensors: Iterable<TensorLike>): ArrayBuffer[] {
  const found = new Set<ArrayBuffer>();
  for (const t of tensors) {
    const d = t.data;
    if (ArrayBuffer.isView(d) && d.buffer instanceof ArrayBuffer && d.byteOffset === 0 && d.byteLength === d.buffer.byteLength) found.add(d.buffer);
  }
  return [...found];
}
