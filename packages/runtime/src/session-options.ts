import { ForgeError, ForgeErrorCode } from '@onnx-forge/core';
import type { ProviderConfig } from './provider-config.js';

/**
 * onnxruntime's session options, checked before onnxruntime sees them. Both builds are lax in ways
 * that hurt: onnxruntime-node silently ignores `freeDimensionOverrides` (its binding never reads it),
 * onnxruntime-web accepts `intraOpNumThreads: -3` and fails on `optimizedModelFilePath` with "Cannot
 * read properties of null (reading 'push')". Here every option is validated, with the same meaning on
 * both backends.
 */
export interface SessionOptions {
  /** Graph optimizations onnxruntime applies at load (onnxruntime default: 'all'). */
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'layout' | 'all';
  /** Threads inside one operator (0 = onnxruntime's default, the number of physical cores). */
  intraOpNumThreads?: number;
  /** Threads running independent operators in parallel (executionMode 'parallel' only). */
  interOpNumThreads?: number;
  executionMode?: 'sequential' | 'parallel';
  enableCpuMemArena?: boolean;
  enableMemPattern?: boolean;
  /**
   * Fixes symbolic input dimensions (e.g. { batch: 1 }) so that onnxruntime can plan memory and fold
   * shapes. Applied by rewriting the model's declared shapes, so it works on both backends; a name that
   * is not a symbolic input dimension is an error.
   */
  freeDimensionOverrides?: Readonly<Record<string, number>>;
  /** Node only: where onnxruntime writes the optimized model (its folder must exist). */
  optimizedModelFilePath?: string;
  /** External data files given in memory: `path` is the location the model's tensors name. */
  externalData?: readonly { readonly path: string; readonly data: Uint8Array }[];
  /** For a model given as bytes: the folder its external data files are read from (Node). */
  externalDataDir?: string;
  /** onnxruntime's log level: 0 verbose … 4 fatal. */
  logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
  /** Session configuration entries passed through as is (e.g. { session: { disable_prepacking: '1' } }). */
  extra?: Readonly<Record<string, unknown>>;
}

/**
 * The session options handed to onnxruntime: those of the user's SessionOptions onnxruntime itself
 * reads (already validated), plus the execution providers of one attempt.
 */
export interface OrtSessionOptions extends Pick<
  SessionOptions,
  | 'graphOptimizationLevel' | 'intraOpNumThreads' | 'interOpNumThreads' | 'executionMode' | 'enableCpuMemArena'
  | 'enableMemPattern' | 'optimizedModelFilePath' | 'externalData' | 'logSeverityLevel' | 'extra'
> {
  executionProviders?: ProviderConfig[];
}

export const SESSION_OPTION_KEYS = [
  'graphOptimizationLevel', 'intraOpNumThreads', 'interOpNumThreads', 'executionMode', 'enableCpuMemArena',
  'enableMemPattern', 'freeDimensionOverrides', 'optimizedModelFilePath', 'externalData', 'externalDataDir',
  'logSeverityLevel', 'extra',
] as const;

export interface ValidatedSessionOptions {
  /** What goes to onnxruntime (execution providers are added per attempt). */
  readonly ort: OrtSessionOptions;
  readonly freeDimensionOverrides: Readonly<Record<string, number>> | undefined;
  readonly externalDataDir: string | undefined;
  /** A canonical text of the options, for the session cache key. */
  readonly key: string;
}

function invalid(message: string, option: string): ForgeError {
  return new ForgeError(ForgeErrorCode.INVALID_OPTIONS, message, { details: { option } });
}

function oneOf<const T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw invalid(`${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${JSON.stringify(value)}`, name);
  }
  return value as T;
}

function threads(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 1024) {
    throw invalid(`${name} must be an integer from 0 (onnxruntime's default) to 1024, got ${JSON.stringify(value)}`, name);
  }
  return value;
}

function bool(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalid(`${name} must be true or false, got ${JSON.stringify(value)}`, name);
  return value;
}

/** Closest known name, to turn a typo into a suggestion. */
export function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(name.toLowerCase(), k.toLowerCase());
    if (d < bestD) [best, bestD] = [k, d];
  }
  return bestD <= Math.max(2, Math.floor(name.length / 4)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length] as number;
}

const dataIds = new WeakMap<Uint8Array, number>();
let nextDataId = 0;
function dataId(data: Uint8Array): number {
  let id = dataIds.get(data);
  if (id === undefined) dataIds.set(data, (id = ++nextDataId));
  return id;
}

async function checkFolder(name: string, dir: string, what: string): Promise<void> {
  const { stat } = await import('node:fs/promises');
  const s = await stat(dir).catch((e: unknown) => {
    throw new ForgeError(ForgeErrorCode.IO, `${name}: ${what} "${dir}" does not exist`, { cause: e, details: { option: name, path: dir } });
  });
  if (!s.isDirectory()) throw new ForgeError(ForgeErrorCode.IO, `${name}: ${what} "${dir}" is not a folder`, { details: { option: name, path: dir } });
}

/**
 * Validates session options for a backend ('node', 'web' or custom). Unknown keys are errors (with
 * the closest known name), so a misspelled option never silently does nothing.
 */
export async function validateSessionOptions(options: SessionOptions, backend: string, extraKeys: readonly string[] = []): Promise<ValidatedSessionOptions> {
  const known = [...SESSION_OPTION_KEYS, ...extraKeys];
  for (const k of Object.keys(options)) {
    if (!known.includes(k)) {
      const hint = closest(k, known);
      throw invalid(`unknown option '${k}'${hint ? `; did you mean '${hint}'?` : ''}`, k);
    }
  }
  const ort: OrtSessionOptions = {};
  const o = options;
  if (o.graphOptimizationLevel !== undefined) ort.graphOptimizationLevel = oneOf('graphOptimizationLevel', o.graphOptimizationLevel, ['disabled', 'basic', 'extended', 'layout', 'all']);
  if (o.intraOpNumThreads !== undefined) ort.intraOpNumThreads = threads('intraOpNumThreads', o.intraOpNumThreads);
  if (o.interOpNumThreads !== undefined) ort.interOpNumThreads = threads('interOpNumThreads', o.interOpNumThreads);
  if (o.executionMode !== undefined) ort.executionMode = oneOf('executionMode', o.executionMode, ['sequential', 'parallel']);
  if (o.enableCpuMemArena !== undefined) ort.enableCpuMemArena = bool('enableCpuMemArena', o.enableCpuMemArena);
  if (o.enableMemPattern !== undefined) ort.enableMemPattern = bool('enableMemPattern', o.enableMemPattern);
  if (o.logSeverityLevel !== undefined) {
    if (![0, 1, 2, 3, 4].includes(o.logSeverityLevel as number)) throw invalid(`logSeverityLevel must be 0, 1, 2, 3 or 4, got ${JSON.stringify(o.logSeverityLevel)}`, 'logSeverityLevel');
    ort.logSeverityLevel = o.logSeverityLevel;
  }
  if (o.interOpNumThreads !== undefined && o.interOpNumThreads > 1 && o.executionMode !== 'parallel') {
    throw invalid(`interOpNumThreads only matters with executionMode 'parallel' (it is ${o.executionMode ?? 'sequential'})`, 'interOpNumThreads');
  }

  let freeDims: Record<string, number> | undefined;
  if (o.freeDimensionOverrides !== undefined) {
    if (typeof o.freeDimensionOverrides !== 'object' || o.freeDimensionOverrides === null || Array.isArray(o.freeDimensionOverrides)) {
      throw invalid('freeDimensionOverrides must be an object like { batch: 1 }', 'freeDimensionOverrides');
    }
    freeDims = {};
    for (const [dim, size] of Object.entries(o.freeDimensionOverrides)) {
      if (typeof size !== 'number' || !Number.isInteger(size) || size < 1) {
        throw invalid(`freeDimensionOverrides.${dim} must be a positive integer, got ${JSON.stringify(size)}`, 'freeDimensionOverrides');
      }
      freeDims[dim] = size;
    }
  }

  if (o.optimizedModelFilePath !== undefined) {
    if (typeof o.optimizedModelFilePath !== 'string' || o.optimizedModelFilePath === '') throw invalid('optimizedModelFilePath must be a file path', 'optimizedModelFilePath');
    if (backend === 'web') {
      throw invalid('optimizedModelFilePath needs the node backend: onnxruntime-web cannot write files', 'optimizedModelFilePath');
    }
    if (backend === 'node') {
      const path = await import('node:path');
      await checkFolder('optimizedModelFilePath', path.dirname(path.resolve(o.optimizedModelFilePath)), 'the folder');
    }
    ort.optimizedModelFilePath = o.optimizedModelFilePath;
  }

  let externalKey: string[] | undefined;
  if (o.externalData !== undefined) {
    if (!Array.isArray(o.externalData)) throw invalid('externalData must be an array of { path, data }', 'externalData');
    ort.externalData = o.externalData.map((e, i) => {
      if (typeof e !== 'object' || e === null || typeof e.path !== 'string' || !(e.data instanceof Uint8Array)) {
        throw invalid(`externalData[${i}] must be { path: string, data: Uint8Array }`, 'externalData');
      }
      return { path: e.path, data: e.data };
    });
    externalKey = ort.externalData.map((e) => `${e.path}#${dataId(e.data)}`);
  }
  let externalDataDir: string | undefined;
  if (o.externalDataDir !== undefined) {
    if (typeof o.externalDataDir !== 'string' || o.externalDataDir === '') throw invalid('externalDataDir must be a folder path', 'externalDataDir');
    if (typeof process === 'undefined' || !process.versions?.node) throw invalid('externalDataDir needs Node (files are read from disk); pass externalData in a browser', 'externalDataDir');
    await checkFolder('externalDataDir', o.externalDataDir, 'the folder');
    const path = await import('node:path');
    externalDataDir = path.resolve(o.externalDataDir);
  }

  if (o.extra !== undefined) {
    if (typeof o.extra !== 'object' || o.extra === null) throw invalid('extra must be an object of session configuration entries', 'extra');
    ort.extra = { ...o.extra };
  }

  const key = JSON.stringify([
    ort.graphOptimizationLevel, ort.intraOpNumThreads, ort.interOpNumThreads, ort.executionMode, ort.enableCpuMemArena,
    ort.enableMemPattern, ort.optimizedModelFilePath, ort.logSeverityLevel, ort.extra ?? null,
    freeDims ? Object.entries(freeDims).sort() : null, externalKey ?? null, externalDataDir ?? null,
  ]);
  return { ort, freeDimensionOverrides: freeDims, externalDataDir, key };
}

