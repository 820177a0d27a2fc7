import type { Feeds, TensorLike } from '@onnx-forge/runtime';

/** Outputs of a backend by name, each shaped like runtime's `TensorLike` (`{ type, dims, data }`). */
export type BackendOutputs = Record<string, TensorLike>;

export interface PredictOptions {
  readonly signal?: AbortSignal;
}

/**
 * One way to answer a request: a model variant on a provider, a worker pool, or plain JavaScript. The
 * interface is structural on purpose: a package that implements a backend (convert's mljs backend) does
 * not import this one, and `HybridModel` and `batched()` are backends themselves, so they compose.
 */
export interface Backend {
  /** Unique within a HybridModel; shown in statistics, events and metrics. */
  readonly name: string;
  /**
   * Answers one request. Rejecting (or exceeding the HybridModel's time limit) counts as a failure.
   * `signal` aborts when the answer is no longer wanted (the other call of a hedged request won); a
   * backend may stop early and reject, or ignore it.
   */
  predict(feeds: Feeds, options?: PredictOptions): Promise<Record<string, TensorLike>>;
  /**
   * Optional first run (load weights, compile kernels) so that the first request does not pay for it.
   * Resolves `false` when it ran nothing (no inputs to run it on): then no call and no cold start are
   * counted, and the first request's time is the cold start.
   */
  warmup?(): Promise<void | false>;
  /** Frees what the backend holds. Called once, by whoever owns the backend. */
  dispose(): Promise<void>;
  /**
   * The backend computes on the caller's thread, so its calls and those of every other such backend
   * run one at a time (an in-process onnxruntime session: its run blocks the thread, onnxruntime
   * #19611). Under concurrency a call's latency then also holds the wait behind the runs queued before
   * it, whichever backend they were for; a HybridModel leaves that wait out of what it compares
   * (`sessionBackend` sets this for sessions from `createSession`, not for pools).
   */
  readonly sharesThread?: boolean;
  /**
   * Most calls the backend runs at once, further ones waiting in its own queue first come first
   * served (a worker pool: its workers). A HybridModel then leaves that wait out of what it compares:
   * the chosen backend's calls queue behind each other and another's explored call does not, so
   * latencies alone would make every other backend look faster than the chosen one and the choice
   * would rotate among them (`sessionBackend` sets it for pools).
   */
  readonly runsAtOnce?: number;
  /** Size of the model it serves, in bytes (the `size` policy prefers the smallest). */
  readonly sizeBytes?: number;
}

/**
 * `backend.predict(feeds)` as a promise: a backend that throws instead of rejecting fails the same way,
 * and `signal` is passed only when there is one (a call without it passes no options at all).
 */
export function callPredict(backend: Backend, feeds: Feeds, signal?: AbortSignal): Promise<Record<string, TensorLike>> {
  try {
    return Promise.resolve(signal ? backend.predict(feeds, { signal }) : backend.predict(feeds));
  } catch (e) {
    return Promise.reject(e);
  }
}
