import { ForgeError, ForgeErrorCode, timerProblem } from '@onnx-forge/core';
import type { Policy } from '@onnx-forge/hybrid';
import type { BatchingOptions } from './models/loaded-model.js';

export interface ServerOptions {
  /** A model file or a model repository folder. */
  readonly models: string;
  /** Worker threads per variant (default: 2, or 1 on a single core). */
  readonly workers?: number;
  /** Dynamic batching (default on: up to 16 rows, waiting at most 2 ms), or false. */
  readonly batching?: Partial<BatchingOptions> | false;
  /** Requests of one model running at once (default 64). */
  readonly maxConcurrent?: number;
  /** Requests of one model waiting beyond those (default 512); more are refused with 503. */
  readonly maxQueue?: number;
  /** Largest request body in bytes (default 32 MiB); larger ones are refused with 413. */
  readonly bodyLimit?: number;
  /** Most tensor elements in one request (default 4,194,304); more is refused with 413. */
  readonly maxElements?: number;
  /**
   * Most bytes of tensor data one request may make (default 64 MiB): the outputs it asks for together,
   * refused with 413 after the run and before the answer is written; and a tensor whose size the
   * request's values fix (an input giving ConstantOfShape's or Expand's shape, Tile's repeats, Range's
   * bounds or OneHot's depth), refused with 413 before the run.
   */
  readonly maxOutputBytes?: number;
  readonly policy?: Policy;
  readonly timeoutMs?: number;
  /** Serve the browser page at / (default true). */
  readonly page?: boolean;
  /**
   * At start, a model that cannot be loaded fails `createServer` with its load error (FORGE_INVALID_MODEL
   * for a file that is not ONNX, FORGE_RUNTIME when onnxruntime cannot load it...), as Triton's
   * --exit-on-error. Default false: the model stays UNAVAILABLE with its reason. Loads through the
   * repository API never stop the server.
   */
  readonly failOnLoadError?: boolean;
  /**
   * During a graceful shutdown, how long a keep-alive connection left idle is kept open (default
   * 1000 ms): a request its client sends meanwhile is read and answered 503 with `connection: close`.
   * Connections still idle after it are closed. Closing them at once would reset any whose client had
   * just sent a request the server had not read yet.
   */
  readonly shutdownIdleMs?: number;
  /** Progress lines (model loads, shutdown). */
  readonly log?: (line: string) => void;
}

export interface ResolvedServerOptions {
  readonly models: string;
  readonly workers: number;
  readonly batching: BatchingOptions | false;
  readonly maxConcurrent: number;
  readonly maxQueue: number;
  readonly bodyLimit: number;
  readonly maxElements: number;
  readonly maxOutputBytes: number;
  readonly policy: Policy;
  readonly timeoutMs: number | undefined;
  readonly page: boolean;
  readonly failOnLoadError: boolean;
  readonly shutdownIdleMs: number;
  readonly log: (line: string) => void;
}

function checkTimer(name: string, ms: number): number {
  const problem = timerProblem(name, ms);
  if (problem) throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, problem, { details: { option: name } });
  return ms;
}

function positiveInt(name: string, v: unknown, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `${name} must be a positive integer, got ${JSON.stringify(v)}`, { details: { option: name } });
  }
  return v;
}

export function resolveServerOptions(o: ServerOptions, cores: number): ResolvedServerOptions {
  if (typeof o.models !== 'string' || o.models === '') throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, 'models: give a .onnx file or a model repository folder', { details: { option: 'models' } });
  let batching: BatchingOptions | false = false;
  if (o.batching !== false) {
    const b = o.batching ?? {};
    // 16 rows: at 32 requests in flight, two batches fill while two workers run the previous two.
    const maxBatch = positiveInt('batching.maxBatch', b.maxBatch, 16);
    const maxDelayMs = b.maxDelayMs ?? 2;
    if (typeof maxDelayMs !== 'number' || !(maxDelayMs >= 0)) throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, 'batching.maxDelayMs must be a number ≥ 0', { details: { option: 'batching.maxDelayMs' } });
    checkTimer('batching.maxDelayMs', maxDelayMs);
    const preferred = b.preferredBatchSizes ?? [maxBatch];
    // A batch never grows past maxBatch: a larger preferred size would be advertised and never run.
    if (!Array.isArray(preferred) || preferred.some((n) => !Number.isInteger(n) || n < 1 || n > maxBatch)) {
      throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `batching.preferredBatchSizes must be integers from 1 to batching.maxBatch (${maxBatch}), got ${JSON.stringify(preferred)}`, { details: { option: 'batching.preferredBatchSizes' } });
    }
    batching = { maxBatch, maxDelayMs, preferredBatchSizes: preferred };
  }
  const maxConcurrent = positiveInt('maxConcurrent', o.maxConcurrent, 64);
  return {
    models: o.models,
    workers: positiveInt('workers', o.workers, Math.min(2, Math.max(1, cores))),
    batching,
    maxConcurrent,
    maxQueue: o.maxQueue === 0 ? 0 : positiveInt('maxQueue', o.maxQueue, 512),
    bodyLimit: positiveInt('bodyLimit', o.bodyLimit, 32 * 1024 * 1024),
    maxElements: positiveInt('maxElements', o.maxElements, 4 * 1024 * 1024),
    maxOutputBytes: positiveInt('maxOutputBytes', o.maxOutputBytes, 64 * 1024 * 1024),
    policy: o.policy ?? 'auto',
    timeoutMs: o.timeoutMs === undefined ? undefined : checkTimer('timeoutMs', positiveInt('timeoutMs', o.timeoutMs, 0)),
    page: o.page ?? true,
    failOnLoadError: o.failOnLoadError ?? false,
    shutdownIdleMs: o.shutdownIdleMs === 0 ? 0 : checkTimer('shutdownIdleMs', positiveInt('shutdownIdleMs', o.shutdownIdleMs, 1000)),
    log: o.log ?? (() => undefined),
  };
}
