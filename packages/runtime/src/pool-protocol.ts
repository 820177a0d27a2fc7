import { ForgeError, ForgeErrorCode, errorMessage, isForgeError } from '@onnx-forge/core';
import type { CreateSessionOptions } from './create-session-options.js';
import type { EmptyInputHazard } from './empty-input-hazard.js';
import type { Precision, ProviderSkip, ReadyInfo, ValueInfo } from './types.js';

/** Messages between the pool (main thread) and its workers. Everything here is structured-clonable. */

export interface WireTensor {
  type: string;
  dims: number[];
  data: ArrayBufferView | string[];
}

/** createSession options that can cross to a worker (no functions, no backend objects, no cache, no clock). */
export type WorkerSessionOptions = Omit<CreateSessionOptions, 'onEvent' | 'cache' | 'backend' | 'clock'> & { backend?: 'node' | 'web' };

/** A model as it crosses to a worker: bytes or a path, or precision variants of those. */
export type WireModel = Uint8Array | string | { readonly [P in Precision]?: Uint8Array | string };

export type ToWorker =
  | { kind: 'init'; model: WireModel; options: WorkerSessionOptions; priority?: number | undefined }
  | { kind: 'run'; id: number; names: string[]; tensors: WireTensor[]; outputs: readonly string[] | undefined }
  | { kind: 'release' };

export interface WireError {
  code: string;
  message: string;
  details: Record<string, unknown>;
}

export interface WorkerReady {
  info: Omit<ReadyInfo, 'sessionId'>;
  inputMetadata: ValueInfo[];
  outputMetadata: ValueInfo[];
  inputNames: string[];
  outputNames: string[];
  emptyInputHazard?: EmptyInputHazard | undefined;
}

export type FromWorker =
  | { kind: 'skip'; skip: ProviderSkip }
  | ({ kind: 'ready' } & WorkerReady)
  | { kind: 'init-error'; error: WireError }
  | { kind: 'result'; id: number; names: string[]; tensors: WireTensor[]; runMs: number }
  | { kind: 'run-error'; id: number; error: WireError; runMs: number }
  | { kind: 'released' };

export function toWireError(e: unknown): WireError {
  if (isForgeError(e)) return { code: e.code, message: e.message, details: safeDetails(e.details) };
  return { code: ForgeErrorCode.RUNTIME, message: errorMessage(e), details: {} };
}

/** Details may hold anything; only what survives structured cloning is kept. */
function safeDetails(details: Record<string, unknown>): Record<string, unknown> {
  try {
    return structuredClone(details);
  } catch {
    return JSON.parse(JSON.stringify(details, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))) as Record<string, unknown>;
  }
}

export function fromWireError(e: WireError, prefix = ''): ForgeError {
  return new ForgeError(e.code as ForgeErrorCode, prefix + e.message, { details: e.details });
}

/** The distinct transferable buffers behind some tensors (a buffer listed twice makes postMessage throw). */
export function transferList(tensors: readonly WireTensor[]): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const t of tensors) {
    if (ArrayBuffer.isView(t.data) && t.data.buffer instanceof ArrayBuffer) out.add(t.data.buffer);
  }
  return [...out];
}
