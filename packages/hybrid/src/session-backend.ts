import { ForgeError, ForgeErrorCode } from '@onnx-forge/core';
import { type Feeds, PoolSession, type RunOptions, type Session, type TensorLike, zerosTensor } from '@onnx-forge/runtime';
import type { Backend, PredictOptions } from './backend.js';
import { invalidOption, rejectUnknownOptions } from './invalid-option.js';
import { feedsForSession, float32Outputs, roundedToFloat16 } from './session-feeds.js';

export interface SessionBackendOptions {
  /** Size of the model the session runs, for the `size` policy. */
  readonly sizeBytes?: number;
  /** Feeds for `warmup()` (default: zeros shaped from the session's inputs, symbolic dims 1). */
  readonly warmupFeeds?: Feeds;
  /** Passed to every `session.run` (e.g. `outputs` to fetch, or a pool's `transfer`). */
  readonly runOptions?: Omit<RunOptions, 'signal'>;
  /** Release the session on `dispose()` (default true: the backend owns it). */
  readonly release?: boolean;
}

/**
 * The options of a backend factory: unknown keys (a typo would leave the default in force without a
 * word), a size that is no byte count, and hooks that are not functions are FORGE_INVALID_OPTIONS.
 */
export function checkBackendOptions(options: unknown, what: string, known: readonly string[], functions: readonly string[] = []): void {
  if (typeof options !== 'object' || options === null) throw invalidOption(what, 'options must be an object', 'options');
  const o = options as Record<string, unknown>;
  rejectUnknownOptions(what, o, known);
  const size = o.sizeBytes;
  if (size !== undefined && (typeof size !== 'number' || !Number.isFinite(size) || size < 0)) {
    throw invalidOption(what, `sizeBytes must be a number of bytes ≥ 0, got ${JSON.stringify(size)}`, 'sizeBytes');
  }
  for (const k of functions) {
    if (o[k] !== undefined && typeof o[k] !== 'function') throw invalidOption(what, `${k} must be a function`, k);
  }
}

export function checkBackendName(name: unknown, what: string): string {
  if (typeof name !== 'string' || name.trim() === '') {
    throw invalidOption(what, `the backend name must be a non-empty string, got ${JSON.stringify(name)}`, 'name');
  }
  return name;
}

/** Zeros for every input the session declares, or undefined when a type or rank is unknown. */
function zeroFeeds(session: Session): Feeds | undefined {
  const feeds: Record<string, TensorLike> = {};
  for (const m of session.inputMetadata) {
    if (!m.type || !m.shape) return undefined;
    feeds[m.name] = zerosTensor(m.type, m.shape.map((d) => (typeof d === 'number' ? d : 1)));
  }
  return feeds;
}

/**
 * Where the session's runs wait, for the HybridModel to leave that wait out of what it compares: a
 * runtime in-process session on the CPU runs on this thread, one run at a time with every other
 * (onnxruntime #19611); a pool runs as many at once as it has workers. A Session of another making
 * (a remote one, a wrapper) says nothing, and its latencies are taken as they are.
 */
function queueing(session: Session): Pick<Backend, 'sharesThread' | 'runsAtOnce'> {
  if (session instanceof PoolSession) return { runsAtOnce: Math.max(1, session.stats().workers) };
  const inProcess = /^s\d+$/.test(session.id) && (session.provider === 'cpu' || session.provider === 'wasm');
  return inProcess ? { sharesThread: true } : {};
}

/**
 * A runtime Session as a backend: an in-process session from `createSession` or a worker pool from
 * `createPool` (both are `Session`s). Feeds are validated by the session (FORGE_BAD_INPUT).
 *
 * Variants of one model answer the same requests: a float32 feed of an input the session declares
 * float16 (a model converted by fp16 without keeping its I/O types) is rounded to float16, and a
 * float16 feed of a float32 input widened. A request whose float32 feeds were rounded so gets the
 * session's float16 outputs as float32, as the float32 variants answer it; any other gets them as they are.
 */
export function sessionBackend(name: string, session: Session, options: SessionBackendOptions = {}): Backend {
  checkBackendName(name, 'sessionBackend');
  checkBackendOptions(options, `sessionBackend '${name}'`, ['sizeBytes', 'warmupFeeds', 'runOptions', 'release']);
  if (typeof session !== 'object' || session === null || typeof (session as Partial<Session>).run !== 'function') {
    throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `sessionBackend '${name}': expected a Session from createSession or createPool`, { details: { backend: name } });
  }
  const runOptions = options.runOptions;
  const floatInputs = session.inputMetadata.some((m) => m.type === 'float16' || m.type === 'float32');
  const float16Outputs = session.outputMetadata.some((m) => m.type === 'float16');
  const run = async (feeds: Feeds, signal?: AbortSignal) => {
    const given = floatInputs ? feedsForSession(feeds, session.inputMetadata) : feeds;
    const outputs = await (signal ? session.run(given, { ...runOptions, signal }) : runOptions ? session.run(given, runOptions) : session.run(given));
    return float16Outputs && roundedToFloat16(feeds, given) ? float32Outputs(outputs) : outputs;
  };
  return {
    name,
    ...(options.sizeBytes === undefined ? {} : { sizeBytes: options.sizeBytes }),
    ...queueing(session),
    // A pool drops a queued run whose signal aborts, and stops waiting for a running one.
    predict: (feeds: Feeds, predictOptions?: PredictOptions) => run(feeds, predictOptions?.signal),
    async warmup(): Promise<void | false> {
      // Inputs with no declared shape (or a scalar, which onnxruntime reports alike): nothing to run on.
      const feeds = options.warmupFeeds ?? zeroFeeds(session);
      if (!feeds) return false;
      await session.run(options.warmupFeeds && floatInputs ? feedsForSession(feeds, session.inputMetadata) : feeds);
    },
    async dispose(): Promise<void> {
      if (options.release !== false) await session.release();
    },
  };
}
