import { ForgeError, ForgeErrorCode, Model, errorMessage, externalLocations, folderResolver, isForgeError, notAFile, readModel, unreadableFile } from '@onnx-forge/core';
import type { ModelProto } from '@onnx-forge/core';
import type { RuntimeBackend } from './backend.js';
import type { ValidatedSessionOptions } from './session-options.js';
import type { Precision } from './types.js';

/** A model: encoded bytes, a file path (Node) or URL (browser), or an in-memory model with `encode()` (core's Model). */
export type ModelSource = Uint8Array | ArrayBuffer | string | { encode(): Uint8Array };

/** The same model in several precisions (e.g. produced by graph-ops' fp16 and int8 passes). */
export type ModelVariants = { readonly [P in Precision]?: ModelSource };

export function isModelVariants(x: unknown): x is ModelVariants {
  if (typeof x !== 'object' || x === null || ArrayBuffer.isView(x) || x instanceof ArrayBuffer) return false;
  if (typeof (x as { encode?: unknown }).encode === 'function') return false;
  const keys = Object.keys(x);
  return keys.length > 0 && keys.every((k) => k === 'fp32' || k === 'fp16' || k === 'int8');
}

/** Bytes or a path, validated as far as it can be without loading. */
export function normalizeModel(source: ModelSource): Uint8Array | string {
  if (typeof source === 'string') {
    if (source === '') throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, 'the model path is empty');
    return source;
  }
  let bytes: Uint8Array;
  if (source instanceof Uint8Array) bytes = source;
  else if (source instanceof ArrayBuffer || isSharedBuffer(source)) bytes = new Uint8Array(source as ArrayBuffer);
  else if (typeof source === 'object' && source !== null && typeof (source as { encode?: unknown }).encode === 'function') bytes = (source as { encode(): Uint8Array }).encode();
  else {
    throw new ForgeError(ForgeErrorCode.INVALID_MODEL, `a model must be bytes (Uint8Array/ArrayBuffer), a file path or a core Model, got ${source === null ? 'null' : typeof source}`);
  }
  if (bytes.byteLength === 0) throw new ForgeError(ForgeErrorCode.INVALID_MODEL, 'the model is empty (0 bytes)');
  // onnxruntime-node refuses bytes in shared memory, and so does the cache's SHA-256 (Web Crypto).
  return isSharedBuffer(bytes.buffer) ? bytes.slice() : bytes;
}

function isSharedBuffer(b: unknown): boolean {
  return Object.prototype.toString.call(b) === '[object SharedArrayBuffer]';
}

/**
 * Identity of a model for the session cache: the SHA-256 of its bytes (same bytes, same key, whatever
 * buffer holds them), or for a file its resolved path, size and modification time. Bytes are hashed
 * on every call, not remembered per array: a buffer rewritten in place with another model (a reused
 * read buffer) would otherwise get the first model's session back.
 */
export async function modelKey(model: Uint8Array | string): Promise<string> {
  if (typeof model === 'string') return fileKey(model);
  const d = await globalThis.crypto.subtle.digest('SHA-256', model as Uint8Array<ArrayBuffer>);
  let hex = '';
  for (const b of new Uint8Array(d)) hex += b.toString(16).padStart(2, '0');
  return `sha256:${hex}`;
}

async function fileKey(file: string): Promise<string> {
  if (typeof process === 'undefined' || !process.versions?.node) return `url:${file}`;
  const [{ stat }, path] = await Promise.all([import('node:fs/promises'), import('node:path')]);
  const full = path.resolve(file);
  const s = await stat(full).catch((e: unknown) => {
    throw unreadableFile(file, e, 'model');
  });
  if (!s.isFile()) throw unreadableFile(file, notAFile(s), 'model');
  return `file:${full}:${s.size}:${s.mtimeMs}`;
}

export interface PreparedModel {
  readonly model: Uint8Array | string;
  readonly externalData: { path: string; data: Uint8Array }[] | undefined;
}

/**
 * Puts the model in the form the backend takes: a path when onnxruntime can read it (and then its
 * external data) itself, else bytes; applies free-dimension overrides; reads external data files
 * named by a model given as bytes from `externalDataDir`.
 */
export async function prepareModel(model: Uint8Array | string, backend: RuntimeBackend, options: ValidatedSessionOptions): Promise<PreparedModel> {
  const overrides = options.freeDimensionOverrides;
  if (typeof model === 'string') {
    await fileKey(model); // a clear FORGE_IO for a missing file, before onnxruntime's "Load model failed"
    if (backend.acceptsPaths && !overrides) return { model, externalData: undefined };
    // core reads the file and any external data next to it (never outside its folder).
    const m = await readModel(model);
    if (overrides) applyFreeDimensionOverrides(m.proto, overrides);
    return { model: m.encode(), externalData: undefined };
  }
  if (!overrides && !options.externalDataDir) return { model, externalData: undefined };
  const m = Model.decode(model);
  const externalData = options.externalDataDir ? await readExternalFiles(m.proto, options.externalDataDir) : undefined;
  if (overrides) {
    applyFreeDimensionOverrides(m.proto, overrides);
    return { model: m.encode(), externalData };
  }
  return { model, externalData };
}

/**
 * Fixes symbolic dimensions everywhere they are declared (inputs, outputs, value_info of the main
 * graph): a dim_param names one size throughout a model. Each override must name a symbolic input dim.
 */
export function applyFreeDimensionOverrides(proto: ModelProto, overrides: Readonly<Record<string, number>>): void {
  const graph = proto.graph;
  if (!graph) throw new ForgeError(ForgeErrorCode.INVALID_MODEL, 'the model has no main graph');
  const inputSymbols = new Set<string>();
  for (const v of graph.input) for (const d of v.type?.tensorType?.shape?.dim ?? []) if (d.dimParam) inputSymbols.add(d.dimParam);
  for (const name of Object.keys(overrides)) {
    if (!inputSymbols.has(name)) {
      const known = [...inputSymbols];
      throw new ForgeError(
        ForgeErrorCode.INVALID_OPTIONS,
        `freeDimensionOverrides: no input of the model has a dimension named '${name}'${known.length ? ` (its symbolic dims: ${known.join(', ')})` : ' (its inputs have no symbolic dims)'}`,
        { details: { option: 'freeDimensionOverrides', dim: name, known } },
      );
    }
  }
  for (const list of [graph.input, graph.output, graph.valueInfo]) {
    for (const v of list) {
      for (const d of v.type?.tensorType?.shape?.dim ?? []) {
        const size = d.dimParam ? overrides[d.dimParam] : undefined;
        if (size === undefined) continue;
        delete (d as { dimParam?: string | null }).dimParam;
        d.dimValue = size;
      }
    }
  }
}

/**
 * The external data files a model given as bytes names, read from `dir` with core's rules for a
 * model's folder: a location that is absolute, leaves the folder by name, or leads out of it through
 * a symbolic link is refused with FORGE_EXTERNAL_DATA.
 */
async function readExternalFiles(proto: ModelProto, dir: string): Promise<{ path: string; data: Uint8Array }[]> {
  const [fs, path] = await Promise.all([import('node:fs'), import('node:path')]);
  const locations = externalLocations(proto);
  const resolve = folderResolver(dir, fs, path);
  const out: { path: string; data: Uint8Array }[] = [];
  for (const loc of locations) {
    try {
      const source = await resolve(loc);
      out.push({ path: loc, data: await source.read(0, source.size) });
    } catch (e) {
      const msg = isForgeError(e, ForgeErrorCode.EXTERNAL_DATA) ? e.message : `cannot read external data file "${loc}": ${errorMessage(e)}`;
      throw new ForgeError(ForgeErrorCode.EXTERNAL_DATA, `externalDataDir "${dir}": ${msg}`, { cause: e, details: { location: loc, dir } });
    }
  }
  return out;
}
