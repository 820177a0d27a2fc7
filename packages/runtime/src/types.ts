import type { TypedArray } from '@onnx-forge/core';

/**
 * Types shared by the in-process session, the worker pool and the cache. Everything here is plain data
 * (structured-clonable) except `Session` itself, so events and reports cross worker boundaries intact.
 */

/**
 * Element types as onnxruntime spells them. float16 data is Uint16Array bits (Node 20 has no Float16Array);
 * where the platform has Float16Array (browsers), feeds may be one and onnxruntime gives float16 outputs as one.
 */
export type ElementType =
  | 'float32' | 'float16' | 'float64' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32'
  | 'int64' | 'uint64' | 'bool' | 'string';

/** Anything shaped like an onnxruntime Tensor (a Tensor of onnxruntime-node or -web, or a plain object). */
export interface TensorLike {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: TypedArray | readonly string[];
}

/**
 * The output tensors of a run. They are onnxruntime `Tensor` objects of the backend that ran them; the
 * interface is kept structural so that callers need not import onnxruntime.
 */
export interface OutputTensor extends TensorLike {
  readonly size: number;
}

/** One value of a feed: an onnxruntime Tensor, `{ data, dims }` (type from the data or the model), or plain values. */
export type FeedValue =
  | TensorLike
  | { readonly data: TypedArray | readonly number[] | readonly bigint[] | readonly boolean[] | readonly string[]; readonly dims?: readonly number[]; readonly shape?: readonly number[]; readonly type?: ElementType }
  | TypedArray;

export type Feeds = Readonly<Record<string, FeedValue>>;
export type Outputs = Record<string, OutputTensor>;

/** An input or output as the loaded session declares it. `shape` is undefined when the model does not say. */
export interface ValueInfo {
  readonly name: string;
  /** Element type, or undefined for non-tensor values (sequences, maps). */
  readonly type: ElementType | undefined;
  /** Fixed dims are numbers, symbolic dims strings; undefined when the rank is unknown. */
  readonly shape: readonly (number | string)[] | undefined;
}

export type BackendName = 'node' | 'web';

/** Where a provider dropped out of the chain. */
export type SkipPhase =
  /** The backend does not have this provider here (not compiled in, library not installed, unknown name). */
  | 'resolve'
  /** The provider exists but could not start (no GPU adapter, driver missing); remembered for the process. */
  | 'init'
  /** The provider started but onnxruntime could not create a session for this model on it. */
  | 'create'
  /** The session was created but its first (warm-up) run failed. */
  | 'first-run';

export interface ProviderSkip {
  readonly provider: string;
  readonly phase: SkipPhase;
  /** The precision variant being loaded when the failure happened (create and first-run phases). */
  readonly precision?: Precision;
  readonly error: string;
  /** True when the failure was remembered from an earlier attempt in this process, not observed now. */
  readonly remembered?: boolean;
  readonly ms: number;
}

/** A registered backend passed over while choosing one by priority (see registerBackend), and why. */
export interface BackendSkip {
  readonly backend: string;
  readonly error: string;
  /** True when the failure was remembered from an earlier attempt in this process, not observed now. */
  readonly remembered: boolean;
  readonly ms: number;
}

export type Precision = 'fp32' | 'fp16' | 'int8';

export interface RunOptions {
  /** Fetch only these outputs (default: all). */
  readonly outputs?: readonly string[];
  /** Rejects the run with FORGE_CANCELLED when aborted (queued runs leave the queue). */
  readonly signal?: AbortSignal;
  /** Rejects with FORGE_TIMEOUT when the run has not finished this long after it was submitted. */
  readonly timeoutMs?: number;
  /** Pool only: transfer the feed buffers to the worker instead of copying them (they become unusable here). */
  readonly transfer?: boolean;
}

/** Timing of one run, emitted as a 'run' event. */
export interface RunTiming {
  readonly sessionId: string;
  readonly provider: string;
  /** Time spent waiting for a free worker (0 for in-process sessions). */
  readonly queueMs: number;
  /** Time onnxruntime spent in run(). */
  readonly runMs: number;
  /** Submission to settlement, including feed validation and message passing. */
  readonly totalMs: number;
  readonly ok: boolean;
  readonly error?: string;
  readonly errorCode?: string;
  /** Pool only: which worker ran it. */
  readonly worker?: number;
}

export interface ReadyInfo {
  readonly sessionId: string;
  readonly backend: string;
  readonly provider: string;
  readonly precision: Precision;
  readonly precisionReason: string;
  readonly skipped: readonly ProviderSkip[];
  /** Backends of higher priority that could not start here, when none was named (absent when none failed). */
  readonly skippedBackends?: readonly BackendSkip[];
  readonly createMs: number;
  /** Duration of the warm-up run, when one was made. */
  readonly firstRunMs?: number;
}

export interface WorkerExitInfo {
  readonly worker: number;
  readonly error: string;
  /** Whether a replacement worker was started. */
  readonly replaced: boolean;
}

/** Events a session (or a pool) emits, by name. */
export interface SessionEvents {
  skip: ProviderSkip;
  ready: ReadyInfo;
  run: RunTiming;
  'worker-exit': WorkerExitInfo;
  release: { readonly sessionId: string };
}

export type SessionEventName = keyof SessionEvents;
export type SessionEvent = { [K in SessionEventName]: { type: K } & SessionEvents[K] }[SessionEventName];

/** A loaded model, in this thread or in a worker pool. */
export interface Session {
  readonly id: string;
  readonly backend: string;
  /** The execution provider that runs the model. */
  readonly provider: string;
  /** Providers tried before `provider`, with why each was skipped. */
  readonly skipped: readonly ProviderSkip[];
  readonly precision: Precision;
  readonly precisionReason: string;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly ValueInfo[];
  readonly outputMetadata: readonly ValueInfo[];
  readonly released: boolean;
  /** Runs the model and returns its outputs by name. Feeds are validated first (FORGE_BAD_INPUT). */
  run(feeds: Feeds, options?: RunOptions): Promise<Outputs>;
  /** Waits for runs in flight, then frees the session. Idempotent. */
  release(): Promise<void>;
  on<K extends SessionEventName>(event: K, listener: (payload: SessionEvents[K]) => void): () => void;
}
