import { ForgeError, ForgeErrorCode, MAX_TIMER_MS, cancelledError, isForgeError, onAbort } from '@onnx-forge/core';
import { type Clock, type Feeds, type TensorLike, type TimerHandle, systemClock } from '@onnx-forge/runtime';
import { type Backend, type PredictOptions, callPredict } from './backend.js';
import { checkClock, invalidOption, rejectUnknownOptions } from './invalid-option.js';
import { type BatchLayout, type StackableRequest, concatRequests, splitOutputs, stackable } from './tensor-batch.js';

export interface BatchOptions {
  /** Most rows (along dim 0) in one run. */
  readonly maxBatch: number;
  /** Longest a request waits for others before its batch runs anyway. */
  readonly maxDelayMs: number;
  /**
   * Batch sizes worth sending at once (Triton's preferred_batch_size): a batch that reaches one of them
   * runs without waiting for `maxDelayMs`. Default: only `maxBatch` does.
   */
  readonly preferredBatchSizes?: readonly number[];
  /**
   * Most runs of the wrapped backend at once (Triton's instance count; a worker pool's size). When all
   * are busy, a group whose delay has passed keeps taking requests until it is full or its turn for a
   * run comes (in the order groups became due or full), so batches grow with the load instead of
   * queueing small ones behind each other. Default: no limit.
   */
  readonly maxInFlight?: number;
  /**
   * Where the batch runs in each input and output (default: dim 0 of all); an input mapped to null is
   * shared, and requests stack only with those that give it the same values (see BatchLayout).
   */
  readonly layout?: BatchLayout;
  /** Name of the batched backend (default `<backend>+batch`). */
  readonly name?: string;
  readonly clock?: Clock;
  /**
   * Called for each request that waited to be stacked, when its batch is sent: its feeds (the object
   * given to predict) and how long it waited. A server adds this to the request's queue time, which
   * the batcher's wait is (as Triton counts it), not compute. Errors it throws are ignored.
   */
  readonly onWait?: (feeds: Feeds, waitMs: number) => void;
}

export interface BatchStats {
  /** Requests received. */
  readonly requests: number;
  /** Runs of the wrapped backend (stacked, single and retries). */
  readonly runs: number;
  /** Runs that stacked two or more requests. */
  readonly stackedRuns: number;
  /** Requests that ran alone: nothing to stack with in time, or not stackable (no dims, too many rows). */
  readonly singleRuns: number;
  readonly failedRuns: number;
  /** Requests run again alone after their stacked run failed on bad input or inside the model. */
  readonly retriedAlone: number;
  readonly largestBatch: number;
  /** Mean requests per run. */
  readonly meanBatchSize: number;
  /** Requests waiting now (to be stacked, or for a free run under maxInFlight). */
  readonly queued: number;
  /** Requests whose signal aborted while they waited to be stacked (a hedged request answered elsewhere): never run. */
  readonly withdrawn: number;
}

/** A backend that stacks concurrent requests; `stats()` tells how well that worked. */
export interface BatchedBackend extends Backend {
  stats(): BatchStats;
}

interface Pending {
  /** Undefined for a request that runs alone (not stackable, or as many rows as maxBatch). */
  readonly request: StackableRequest | undefined;
  readonly feeds: Feeds;
  /** When it joined its group (clock time). */
  readonly since: number;
  readonly signal: AbortSignal | undefined;
  resolve(outputs: Record<string, TensorLike>): void;
  reject(error: unknown): void;
}

interface Group {
  readonly key: string;
  pending: Pending[];
  rows: number;
  timer: TimerHandle | undefined;
  /** Its delay has passed while every run was busy: it holds its place in the queue for a run slot. */
  due: boolean;
}

/**
 * What waits for a run slot: a complete batch, or a group that became due while every run was busy
 * (still stacking until its turn comes, or until it is full).
 */
type Waiting = Pending[] | Group;

const pendingOf = (w: Waiting): Pending[] => (Array.isArray(w) ? w : w.pending);

function withdrawnError(name: string, signal: AbortSignal): ForgeError {
  return cancelledError(signal, `request withdrawn from the batch queue of '${name}' before it ran`);
}

function positiveInt(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw invalid(`${name} must be a positive integer, got ${JSON.stringify(v)}`, name);
  }
  return v;
}

const OPTION_KEYS = ['maxBatch', 'maxDelayMs', 'preferredBatchSizes', 'maxInFlight', 'layout', 'name', 'clock', 'onWait'];

function invalid(message: string, option: string): ForgeError {
  return invalidOption('batched', message, option);
}

/** The options' shape: unknown keys (a typo), a layout that names no dim, hooks that are not functions. */
function checkOptions(options: unknown): void {
  if (typeof options !== 'object' || options === null) throw invalid('options must be an object with maxBatch and maxDelayMs', 'options');
  const o = options as Record<string, unknown>;
  rejectUnknownOptions('batched', o, OPTION_KEYS);
  if (o.name !== undefined && (typeof o.name !== 'string' || o.name.trim() === '')) throw invalid(`name must be a non-empty string, got ${JSON.stringify(o.name)}`, 'name');
  if (o.onWait !== undefined && typeof o.onWait !== 'function') throw invalid('onWait must be a function (feeds, waitMs) => void', 'onWait');
  checkClock('batched', o.clock);
  if (o.preferredBatchSizes !== undefined && !Array.isArray(o.preferredBatchSizes)) throw invalid('preferredBatchSizes must be a list of batch sizes', 'preferredBatchSizes');
  const layout = o.layout;
  if (layout === undefined) return;
  if (typeof layout !== 'object' || layout === null) throw invalid('layout must be { inputs?, outputs? }', 'layout');
  rejectUnknownOptions('batched', layout, ['inputs', 'outputs'], 'layout.');
  const dim = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0;
  for (const part of ['inputs', 'outputs'] as const) {
    const dims = (layout as Record<string, unknown>)[part];
    if (dims === undefined) continue;
    if (typeof dims !== 'object' || dims === null) throw invalid(`layout.${part} must map names to dims`, `layout.${part}`);
    for (const [name, v] of Object.entries(dims)) {
      // An input may be shared (null): requests stack only with those giving it the same values.
      if (dim(v) || (part === 'inputs' && v === null)) continue;
      throw invalid(`layout.${part}.${name} must be a dim (an integer ≥ 0)${part === 'inputs' ? ' or null' : ''}, got ${JSON.stringify(v)}`, `layout.${part}.${name}`);
    }
  }
}

/**
 * Dynamic batching without a server: concurrent single requests to `backend` are stacked along dim 0
 * (or the dims `layout` names), run once, and the outputs split back by rows. Requests stack only with
 * requests of the same input names, element types, containers, non-batch dims and shared values
 * (others form their own batches). Works for any
 * typed array (int64 as BigInt64Array, float16 as Uint16Array) and for string tensors.
 *
 * When a stacked run fails with FORGE_BAD_INPUT (an error about the feeds), FORGE_RUNTIME (an error
 * inside the model's run, which one request's values can cause: a token id past the embedding table
 * fails the whole stacked Gather) or an error that is no ForgeError (thrown by a JavaScript model), each
 * request runs again alone, so only the one that breaks the model fails and not its neighbours. Any
 * other ForgeError (a time-out, a full queue, a cancellation) fails
 * exactly the requests of the batch: retrying them one by one would add load to a backend that is
 * short of it, and a HybridModel above gets a clean signal for its breaker and its own fallback. A
 * backend that fails every run costs one extra run per request of a failed batch; the breaker of a
 * HybridModel above sees each of those failures and takes it out.
 */
export function batched(backend: Backend, options: BatchOptions): BatchedBackend {
  checkOptions(options);
  const maxBatch = positiveInt('maxBatch', options.maxBatch);
  // A timer's delay: past MAX_TIMER_MS it would fire at once, and Infinity never lets a batch wait.
  if (typeof options.maxDelayMs !== 'number' || !(options.maxDelayMs >= 0 && options.maxDelayMs <= MAX_TIMER_MS)) {
    throw invalid(`maxDelayMs must be a number from 0 to ${MAX_TIMER_MS} (the longest a timer waits), got ${JSON.stringify(options.maxDelayMs)}`, 'maxDelayMs');
  }
  const preferred = (options.preferredBatchSizes ?? []).map((n) => positiveInt('preferredBatchSizes', n)).filter((n) => n <= maxBatch);
  let limit = options.maxInFlight === undefined ? Number.POSITIVE_INFINITY : positiveInt('maxInFlight', options.maxInFlight);
  const clock = options.clock ?? systemClock;
  const groups = new Map<string, Group>();
  /**
   * What waits for a free run, in the order it became full or due: a group due early is not passed by
   * batches that filled after it (another key's traffic would otherwise hold it back indefinitely).
   */
  const ready: Waiting[] = [];
  /** Batches sent and not yet settled (a failed stacked batch holds its slot while its requests rerun alone). */
  let active = 0;
  const inFlight = new Set<Promise<unknown>>();
  let requests = 0, runs = 0, stackedRuns = 0, singleRuns = 0, failedRuns = 0, retriedAlone = 0, withdrawn = 0, largest = 0, disposed = false;

  /** One run of the wrapped backend; a request run alone passes its signal on. */
  const run = (feeds: Feeds, signal?: AbortSignal): Promise<Record<string, TensorLike>> => {
    runs++;
    const p = callPredict(backend, feeds, signal);
    const tracked = p.catch(() => {
      failedRuns++;
    });
    inFlight.add(tracked);
    void tracked.finally(() => inFlight.delete(tracked));
    return p;
  };

  /** Sends `batch` now; resolves when every request of it has settled. */
  const send = (batch: Pending[]): Promise<unknown> => {
    largest = Math.max(largest, batch.length);
    if (options.onWait) {
      const now = clock.now();
      for (const p of batch) {
        try {
          options.onWait(p.feeds, now - p.since);
        } catch {
          // An observer's failure is not the request's.
        }
      }
    }
    if (batch.length === 1) {
      const only = batch[0] as Pending;
      singleRuns++;
      return run(only.feeds, only.signal).then(only.resolve, only.reject);
    }
    stackedRuns++;
    let feeds: Feeds;
    try {
      feeds = concatRequests(batch.map((p) => p.request as StackableRequest));
    } catch (e) {
      for (const p of batch) p.reject(e);
      return Promise.resolve();
    }
    return run(feeds).then(
      (outputs) => {
        let parts: Record<string, TensorLike>[];
        try {
          parts = splitOutputs(outputs, batch.map((p) => (p.request as StackableRequest).rows), options.layout);
        } catch (e) {
          for (const p of batch) p.reject(e);
          return undefined;
        }
        batch.forEach((p, i) => p.resolve(parts[i] as Record<string, TensorLike>));
        return undefined;
      },
      (error: unknown) => {
        // A plain Error counts as one from inside the model: a JavaScript model (functionBackend) throws
        // what it throws, and one request's values may be why.
        if (isForgeError(error) && !isForgeError(error, ForgeErrorCode.BAD_INPUT) && !isForgeError(error, ForgeErrorCode.RUNTIME)) {
          for (const p of batch) p.reject(error);
          return undefined;
        }
        const alone = (p: Pending) => {
          retriedAlone++;
          return run(p.feeds).then(p.resolve, p.reject);
        };
        // Under maxInFlight the reruns share the batch's one slot: one after another, so a failed batch
        // never puts more runs on the backend than the bound allows.
        if (Number.isFinite(limit)) return batch.reduce<Promise<unknown>>((chain, p) => chain.then(() => alone(p)), Promise.resolve());
        return Promise.all(batch.map(alone));
      },
    );
  };

  /** Does `work` in a free run slot, then gives the slot to what waits next. */
  const occupy = <T>(work: () => Promise<T>): Promise<T> => {
    active++;
    const p = work();
    void p.then(() => undefined, () => undefined).finally(() => {
      active--;
      next();
    });
    return p;
  };

  /** Sends `batch` in a free run slot. */
  const dispatch = (batch: Pending[]): void => {
    void occupy(() => send(batch));
  };

  /** A run slot is free: what has waited longest goes (a due group stops stacking then). */
  const next = (): void => {
    while (active < limit) {
      const w = ready.shift();
      if (!w) return;
      if (!Array.isArray(w) && groups.get(w.key) === w) take(w.key);
      const batch = pendingOf(w);
      if (batch.length) dispatch(batch);
    }
  };

  /** Takes a group out of the map (new requests of its key start another). */
  const take = (key: string): Group | undefined => {
    const g = groups.get(key);
    if (!g) return undefined;
    groups.delete(key);
    if (g.timer !== undefined) clock.clearTimeout(g.timer);
    return g;
  };

  /** A group is complete (full, or its delay is over): it runs now when a slot is free, else waits for one. */
  const flush = (key: string): void => {
    const g = take(key);
    if (!g || !g.pending.length) return;
    // A due group already holds its place in the queue.
    if (g.due) next();
    else if (active < limit) dispatch(g.pending);
    else ready.push(g.pending);
  };

  /** A group's delay is over: it runs now if a slot is free; else it keeps stacking until one is. */
  const due = (key: string): void => {
    const g = groups.get(key);
    if (!g) return;
    g.timer = undefined;
    if (active < limit) flush(key);
    else {
      g.due = true;
      ready.push(g);
    }
  };

  const full = (rows: number) => rows >= maxBatch || preferred.includes(rows);

  /** Takes a request out of its group, or of a batch waiting for a slot, if it has not been sent (an emptied group is dropped). */
  const withdraw = (key: string, p: Pending): void => {
    const g = groups.get(key);
    const i = g ? g.pending.indexOf(p) : -1;
    if (g && i >= 0) {
      g.pending.splice(i, 1);
      g.rows -= p.request?.rows ?? 0;
      if (!g.pending.length) take(key);
    } else {
      const batch = ready.map(pendingOf).find((b) => b.includes(p));
      if (!batch) return;
      batch.splice(batch.indexOf(p), 1);
    }
    withdrawn++;
    p.reject(withdrawnError(backend.name, p.signal as AbortSignal));
  };

  return {
    name: options.name ?? `${backend.name}+batch`,
    ...(backend.sizeBytes === undefined ? {} : { sizeBytes: backend.sizeBytes }),
    /**
     * A request whose `signal` aborts while it waits to be stacked leaves its group unrun and rejects
     * with FORGE_CANCELLED; once its batch is sent, a stacked run goes on (the others need it), and a
     * request run alone passes the signal to the backend.
     */
    predict(feeds: Feeds, predictOptions?: PredictOptions): Promise<Record<string, TensorLike>> {
      if (disposed) return Promise.reject(new ForgeError(ForgeErrorCode.RUNTIME, `batched backend '${backend.name}' was disposed`));
      const signal = predictOptions?.signal;
      if (signal?.aborted) return Promise.reject(withdrawnError(backend.name, signal));
      requests++;
      const request = stackable(feeds, options.layout);
      if (!request || request.rows >= maxBatch) {
        // Runs alone, but in its turn for a run slot like any batch.
        if (active >= limit) {
          return new Promise((settleOk, settleError) => {
            let leave = () => {};
            const pending: Pending = {
              request: undefined, feeds, since: clock.now(), signal,
              resolve: (outputs) => { leave(); settleOk(outputs); },
              reject: (error) => { leave(); settleError(error); },
            };
            ready.push([pending]);
            if (signal) leave = onAbort(signal, () => withdraw('', pending));
          });
        }
        largest = Math.max(largest, 1);
        singleRuns++;
        return occupy(() => run(feeds, signal));
      }
      return new Promise((settleOk, settleError) => {
        // One listener per shared signal (core's onAbort): a client cancelling 20 queued requests with
        // one controller is ordinary use, and Node warns past 10 listeners on a signal.
        let leave = () => {};
        const resolve = (outputs: Record<string, TensorLike>) => {
          leave();
          settleOk(outputs);
        };
        const reject = (error: unknown) => {
          leave();
          settleError(error);
        };
        const pending: Pending = { request, feeds, since: clock.now(), signal, resolve, reject };
        let g = groups.get(request.key);
        if (g && g.rows + request.rows > maxBatch) {
          flush(request.key);
          g = undefined;
        }
        if (!g) {
          g = { key: request.key, pending: [], rows: 0, timer: undefined, due: false };
          groups.set(request.key, g);
          const key = request.key;
          g.timer = clock.setTimeout(() => due(key), options.maxDelayMs);
        }
        g.pending.push(pending);
        g.rows += request.rows;
        if (signal) leave = onAbort(signal, () => withdraw(request.key, pending));
        if (full(g.rows)) flush(request.key);
      });
    },
    async warmup(): Promise<void | false> {
      // A backend without one runs nothing either.
      return backend.warmup ? backend.warmup() : false;
    },
    async dispose(): Promise<void> {
      disposed = true;
      // Whatever waits is sent at once: the backend is about to go.
      limit = Number.POSITIVE_INFINITY;
      next();
      for (const key of [...groups.keys()]) flush(key);
      // A stacked run that fails sends its requests again alone, adding runs while we wait.
      while (inFlight.size) await Promise.all([...inFlight]);
      await backend.dispose();
    },
    stats(): BatchStats {
      let queued = 0;
      for (const g of groups.values()) queued += g.pending.length;
      // A due group still stacking is counted with the groups above.
      for (const w of ready) if (Array.isArray(w) || groups.get(w.key) !== w) queued += pendingOf(w).length;
      return { requests, runs, stackedRuns, singleRuns, failedRuns, retriedAlone, largestBatch: largest, meanBatchSize: runs ? (requests - queued - withdrawn) / runs : 0, queued, withdrawn };
    },
  };
}
