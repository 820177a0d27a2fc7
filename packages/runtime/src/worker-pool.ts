import { ForgeError, ForgeErrorCode, errorMessage, isForgeError } from '@onnx-forge/core';
import type { ResourceLimits, Worker, WorkerOptions } from 'node:worker_threads';
import { resolveBackend } from './backend-registry.js';
import { type CreateSessionOptions, CREATE_OPTION_KEYS, validateProviders } from './create-session-options.js';
import { Emitter } from './emitter.js';
import { checkOutputNames, prepareFeeds } from './feeds.js';
import { onAbort } from './abort-listeners.js';
import { cancelled, newSessionId } from './local-session.js';
import { type ModelSource, type ModelVariants, isModelVariants, normalizeModel } from './model-source.js';
import { type FromWorker, type ToWorker, type WireTensor, type WorkerReady, type WorkerSessionOptions, fromWireError, transferList } from './pool-protocol.js';
import type { ProviderConfig } from './provider-config.js';
import { validateSessionOptions } from './session-options.js';
import type { Feeds, OutputTensor, Outputs, TensorLike, Precision, ProviderSkip, RunOptions, Session, SessionEvents, ValueInfo } from './types.js';

/**
 * N sessions in N worker threads behind one Session. onnxruntime's run() blocks the thread it runs
 * on for the whole inference (onnxruntime #19611); here it blocks a worker, and the main thread only
 * validates feeds and passes messages. Runs wait in a bounded FIFO queue (full: FORGE_OVERLOADED at
 * once, so callers can shed load), may time out (FORGE_TIMEOUT) or be cancelled (FORGE_CANCELLED), and
 * a worker that dies is replaced: the run it held fails, queued runs go to the others.
 */

export interface PoolOptions extends Omit<CreateSessionOptions, 'backend' | 'cache'> {
  backend?: 'node' | 'web';
  /** Worker threads, each with its own session (default: available cores). */
  workers?: number;
  /** Runs allowed to wait for a worker (default 256); more are rejected with FORGE_OVERLOADED. */
  maxQueue?: number;
  /** Default per-run time limit, from submission (queue wait included). */
  timeoutMs?: number;
  /**
   * Nice value of the worker threads (Linux; 0 to 19 without privileges). A positive value makes the
   * event loop win the core whenever it wakes, at the cost of the workers' share against other
   * processes. Default 0 (same as the main thread).
   */
  workerPriority?: number;
  /** Consecutive failed worker starts after which the pool gives up replacing (default 3). */
  maxRestarts?: number;
  /** V8 heap limits of each worker. */
  resourceLimits?: ResourceLimits;
  /** Worker entry file, for bundlers that move it (default: found next to this module). */
  workerUrl?: string | URL;
  /** Creates worker threads (tests wrap it to reach the Worker objects). */
  spawn?: (url: URL, options: WorkerOptions) => Worker;
}

const POOL_KEYS = ['workers', 'maxQueue', 'timeoutMs', 'workerPriority', 'maxRestarts', 'resourceLimits', 'workerUrl', 'spawn'] as const;

export interface PoolStats {
  readonly workers: number;
  readonly idle: number;
  readonly busy: number;
  readonly queued: number;
  readonly maxQueue: number;
  readonly completed: number;
  readonly failed: number;
  readonly rejected: number;
  readonly crashed: number;
  readonly restarts: number;
}

interface Job {
  readonly id: number;
  readonly names: string[];
  readonly tensors: WireTensor[];
  readonly outputs: readonly string[] | undefined;
  readonly transfer: boolean;
  readonly submitted: number;
  dispatched: number;
  settled: boolean;
  worker: Slot | undefined;
  resolve(out: Outputs): void;
  reject(e: unknown): void;
  cleanup(): void;
}

interface Slot {
  readonly index: number;
  readonly worker: Worker;
  job: Job | undefined;
  /** A run that timed out or was cancelled is still executing here. */
  abandoned: boolean;
  ready: boolean;
  stopping: boolean;
}

/**
 * Lets a worker that holds no session end by itself (it closes its port on 'release'). Not
 * terminate(): a thread stopped while onnxruntime-node's native code runs (loading, running) can
 * abort the whole process.
 */
function dismiss(slot: Slot): void {
  slot.stopping = true;
  slot.worker.unref();
  try {
    slot.worker.postMessage({ kind: 'release' } satisfies ToWorker);
  } catch {
    // Already gone.
  }
}

interface Located {
  url: URL;
  workerData: Record<string, unknown>;
}

/**
 * Finds the worker entry: the built .js beside this module, or, when running from the TypeScript
 * sources (vitest, tsx), the .ts entry started through a bootstrap that registers tsx in the worker.
 * An override may be a .js file, or a .ts file when running from sources (e.g. an entry that imports
 * ./pool-worker.js after registering custom operators).
 */
export function locateWorker(override?: string | URL): Located {
  const here = import.meta.url;
  const isTs = (u: string) => /\.[mc]?ts$/.test(new URL(u).pathname);
  const entry = override === undefined ? (isTs(here) ? new URL('./pool-worker.ts', here) : new URL('./pool-worker.js', here)) : new URL(String(override));
  if (isTs(entry.href)) return { url: new URL('./worker-bootstrap.mjs', here), workerData: { entry: entry.href } };
  return { url: entry, workerData: {} };
}

function invalid(message: string, option: string): ForgeError {
  return new ForgeError(ForgeErrorCode.INVALID_OPTIONS, message, { details: { option } });
}

function positiveInt(name: string, v: unknown, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) throw invalid(`${name} must be an integer from 1 to ${max}, got ${JSON.stringify(v)}`, name);
  return v;
}

/** Starts a pool of `workers` sessions of the model and resolves once all of them are ready. */
export async function createPool(model: ModelSource | ModelVariants, options: PoolOptions = {}): Promise<PoolSession> {
  const os = await import('node:os');
  const wt = await import('node:worker_threads');
  const backend = options.backend ?? 'node';
  if (backend !== 'node' && backend !== 'web') throw invalid("a pool's backend must be 'node' or 'web' (custom backend objects cannot cross to worker threads)", 'backend');
  await validateSessionOptions(options, backend, [...CREATE_OPTION_KEYS, ...POOL_KEYS]);
  validateProviders(options.providers, backend === 'node' ? 'cpu' : 'wasm');
  const workers = options.workers === undefined ? Math.max(1, os.availableParallelism()) : positiveInt('workers', options.workers, 256);
  const maxQueue = options.maxQueue === undefined ? 256 : options.maxQueue === 0 ? 0 : positiveInt('maxQueue', options.maxQueue, 1e7);
  if (options.timeoutMs !== undefined && !(typeof options.timeoutMs === 'number' && options.timeoutMs > 0)) throw invalid('timeoutMs must be a positive number of milliseconds', 'timeoutMs');
  const maxRestarts = options.maxRestarts ?? 3;
  if (options.workerPriority !== undefined && !(Number.isInteger(options.workerPriority) && options.workerPriority >= -20 && options.workerPriority <= 19)) {
    throw invalid(`workerPriority must be a nice value, an integer from -20 to 19, got ${JSON.stringify(options.workerPriority)}`, 'workerPriority');
  }

  let wireModel: Uint8Array | string | ModelVariants;
  if (isModelVariants(model)) {
    const v: Record<string, Uint8Array | string> = {};
    for (const [p, m] of Object.entries(model)) if (m !== undefined) v[p] = normalizeModel(m);
    wireModel = v;
  } else {
    wireModel = normalizeModel(model as ModelSource);
  }

  const {
    onEvent, workers: _w, maxQueue: _q, timeoutMs: _t, maxRestarts: _r, workerPriority, resourceLimits, workerUrl, spawn, ...rest
  } = options;
  // One intra-op thread per worker by default: N workers × 1 thread uses N cores without oversubscribing.
  const sessionOptions: WorkerSessionOptions = { intraOpNumThreads: 1, ...rest, backend };
  const located = locateWorker(workerUrl);
  const spawnWorker = spawn ?? ((url: URL, o: WorkerOptions) => new wt.Worker(url, o));
  // Outputs arrive as plain arrays and become the backend's own Tensors here, as in-process outputs are.
  const tensors = await resolveBackend(backend);

  const pool = new PoolSession({
    backend,
    maxQueue,
    timeoutMs: options.timeoutMs,
    maxRestarts,
    makeTensor: (t) => tensors.toTensor(t as TensorLike) as OutputTensor,
    spawn: () => spawnWorker(located.url, { workerData: located.workerData, ...(resourceLimits ? { resourceLimits } : {}) }),
    onEvent,
  });
  try {
    await pool.start(wireModel, sessionOptions, workers, workerPriority);
  } catch (e) {
    await pool.release().catch(() => undefined);
    throw e;
  }
  return pool;
}

interface PoolConfig {
  backend: string;
  maxQueue: number;
  timeoutMs: number | undefined;
  maxRestarts: number;
  makeTensor(t: WireTensor): OutputTensor;
  spawn(): Worker;
  onEvent: CreateSessionOptions['onEvent'];
}

export class PoolSession implements Session {
  readonly id = newSessionId('pool');
  readonly backend: string;
  provider = '';
  precision: Precision = 'fp32';
  precisionReason = '';
  skipped: readonly ProviderSkip[] = [];
  inputNames: readonly string[] = [];
  outputNames: readonly string[] = [];
  inputMetadata: readonly ValueInfo[] = [];
  outputMetadata: readonly ValueInfo[] = [];
  private inputsByName = new Map<string, ValueInfo>();
  private readonly events = new Emitter<SessionEvents>();
  private readonly slots: Slot[] = [];
  private readonly idle: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextJob = 0;
  private nextIndex = 0;
  private replacementInit: ToWorker | undefined;
  private failedStarts = 0;
  private releasing: Promise<void> | undefined;
  private drained: (() => void) | undefined;
  private broken: ForgeError | undefined;
  private counts = { completed: 0, failed: 0, rejected: 0, crashed: 0, restarts: 0 };

  constructor(private readonly config: PoolConfig) {
    this.backend = config.backend;
    if (config.onEvent) {
      const listener = config.onEvent;
      for (const type of ['run', 'release', 'worker-exit', 'ready'] as const) this.events.on(type, (p) => listener({ type, ...p } as never));
    }
  }

  get released(): boolean {
    return this.releasing !== undefined;
  }

  on<K extends keyof SessionEvents>(event: K, listener: (payload: SessionEvents[K]) => void): () => void {
    return this.events.on(event, listener);
  }

  stats(): PoolStats {
    const busy = this.slots.filter((s) => s.job || s.abandoned).length;
    return { workers: this.slots.length, idle: this.idle.length, busy, queued: this.queue.length, maxQueue: this.config.maxQueue, ...this.counts };
  }

  /** Starts the first worker (which walks the provider chain), then the rest on the provider it found. */
  async start(model: Uint8Array | string | ModelVariants, options: WorkerSessionOptions, count: number, priority?: number): Promise<void> {
    const started = performance.now();
    // All threads boot (load onnxruntime and this package) at once; the others get their init message
    // when the first has found the provider, so the chain is walked only once.
    let initRest!: (init: ToWorker) => void;
    let abortRest!: (e: unknown) => void;
    const restInit = new Promise<ToWorker>((resolve, reject) => {
      initRest = resolve;
      abortRest = reject;
    });
    restInit.catch(() => undefined);
    const firstReady = this.spawnReady(Promise.resolve({ kind: 'init', model, options, priority }), true);
    firstReady.catch(() => undefined);
    const rest = Array.from({ length: count - 1 }, () => this.spawnReady(restInit, false));
    let first: Slot;
    try {
      first = await firstReady;
    } catch (e) {
      abortRest(e);
      await Promise.allSettled(rest);
      throw e;
    }
    const chosen: Uint8Array | string = isModelVariants(model) ? (model[this.precision] as Uint8Array | string) : model;
    const provider: ProviderConfig = (options.providers ?? []).find((p) => (typeof p === 'string' ? p : p.name) === this.provider) ?? this.provider;
    this.replacementInit = {
      kind: 'init',
      model: chosen,
      options: { ...options, providers: [provider], precision: this.precision, strict: true, warmup: false },
      priority,
    };
    initRest(this.replacementInit);
    const settled = await Promise.allSettled(rest);
    this.idle.push(first);
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    for (const r of settled) if (r.status === 'fulfilled') this.idle.push(r.value);
    if (failed) throw failed.reason;
    this.events.emit('ready', {
      sessionId: this.id,
      backend: this.backend,
      provider: this.provider,
      precision: this.precision,
      precisionReason: this.precisionReason,
      skipped: this.skipped,
      createMs: performance.now() - started,
    });
  }

  /** Spawns a worker, sends `init`, resolves with its slot when the session inside is ready. */
  private spawnReady(init: Promise<ToWorker>, primary: boolean): Promise<Slot> {
    return new Promise<Slot>((resolve, reject) => {
      let worker: Worker;
      try {
        worker = this.config.spawn();
      } catch (e) {
        reject(new ForgeError(ForgeErrorCode.RUNTIME, `cannot start a pool worker: ${errorMessage(e)}`, { cause: e }));
        return;
      }
      const slot: Slot = { index: this.nextIndex++, worker, job: undefined, abandoned: false, ready: false, stopping: false };
      this.slots.push(slot);
      let lastError = '';
      worker.on('message', (msg: FromWorker) => {
        if (msg.kind === 'skip') {
          if (primary) this.config.onEvent?.({ type: 'skip', ...msg.skip });
        } else if (msg.kind === 'ready') {
          slot.ready = true;
          if (primary) this.adopt(msg);
          resolve(slot);
        } else if (msg.kind === 'init-error') {
          dismiss(slot);
          reject(fromWireError(msg.error, primary ? '' : `a pool worker could not load the model: `));
        } else {
          this.onWorkerMessage(slot, msg);
        }
      });
      worker.on('error', (e) => {
        lastError = errorMessage(e);
      });
      worker.on('exit', (code) => {
        this.remove(slot);
        if (!slot.ready) {
          reject(new ForgeError(ForgeErrorCode.RUNTIME, `a pool worker exited while starting (code ${code})${lastError ? `: ${lastError}` : ''}`));
          return;
        }
        if (!slot.stopping) this.onCrash(slot, code, lastError);
      });
      init.then(
        (msg) => worker.postMessage(msg),
        (e: unknown) => {
          dismiss(slot);
          reject(e);
        },
      );
    });
  }

  private adopt(msg: WorkerReady): void {
    this.provider = msg.info.provider;
    this.precision = msg.info.precision;
    this.precisionReason = msg.info.precisionReason;
    this.skipped = msg.info.skipped;
    this.inputNames = msg.inputNames;
    this.outputNames = msg.outputNames;
    this.inputMetadata = msg.inputMetadata;
    this.outputMetadata = msg.outputMetadata;
    this.inputsByName = new Map(msg.inputMetadata.map((m) => [m.name, m]));
  }

  private remove(slot: Slot): void {
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    const j = this.idle.indexOf(slot);
    if (j >= 0) this.idle.splice(j, 1);
  }

  run(feeds: Feeds, options: RunOptions = {}): Promise<Outputs> {
    const submitted = performance.now();
    let names: string[];
    let tensors: WireTensor[];
    try {
      if (this.releasing) throw new ForgeError(ForgeErrorCode.RUNTIME, `pool ${this.id} was released; create a new one`);
      if (this.broken) throw this.broken;
      if (options.signal?.aborted) throw cancelled(options.signal);
      const prepared = prepareFeeds(feeds, this.inputMetadata, this.inputsByName);
      if (options.outputs) checkOutputNames(options.outputs, this.outputNames);
      names = prepared.names;
      tensors = prepared.tensors.map((t) => ({ type: t.type, dims: [...t.dims], data: t.data as WireTensor['data'] }));
      if (this.idle.length === 0 && this.queue.length >= this.config.maxQueue) {
        this.counts.rejected++;
        throw new ForgeError(ForgeErrorCode.OVERLOADED, `the pool's queue is full (${this.queue.length} runs waiting for ${this.slots.length} workers); retry later or raise maxQueue`, {
          details: { queued: this.queue.length, maxQueue: this.config.maxQueue, workers: this.slots.length },
        });
      }
    } catch (e) {
      this.emitRun(submitted, submitted, 0, e, undefined);
      return Promise.reject(e);
    }
    return new Promise<Outputs>((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? this.config.timeoutMs;
      let timer: ReturnType<typeof setTimeout> | undefined;
      let unsubscribe: (() => void) | undefined;
      const job: Job = {
        id: ++this.nextJob,
        names,
        tensors,
        outputs: options.outputs,
        transfer: options.transfer ?? false,
        submitted,
        dispatched: 0,
        settled: false,
        worker: undefined,
        resolve,
        reject,
        cleanup: () => {
          if (timer) clearTimeout(timer);
          unsubscribe?.();
        },
      };
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.abandon(job, new ForgeError(ForgeErrorCode.TIMEOUT, `run did not finish within ${timeoutMs} ms (${job.worker ? 'it was running' : 'it was still queued'})`, { details: { timeoutMs, queued: !job.worker } }));
        }, timeoutMs);
      }
      const signal = options.signal;
      if (signal) unsubscribe = onAbort(signal, () => this.abandon(job, cancelled(signal)));
      this.queue.push(job);
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length > 0 && this.idle.length > 0) {
      const job = this.queue.shift() as Job;
      const slot = this.idle.shift() as Slot;
      job.worker = slot;
      job.dispatched = performance.now();
      slot.job = job;
      const msg: ToWorker = { kind: 'run', id: job.id, names: job.names, tensors: job.tensors, outputs: job.outputs };
      try {
        slot.worker.postMessage(msg, job.transfer ? transferList(job.tensors) : []);
      } catch (e) {
        slot.job = undefined;
        this.idle.push(slot);
        this.settle(job, new ForgeError(ForgeErrorCode.BAD_INPUT, `cannot send the feeds to a worker: ${errorMessage(e)}`, { cause: e }));
      }
    }
    if (this.queue.length === 0 && this.drained && this.slots.every((s) => !s.job && !s.abandoned)) this.drained();
  }

  private onWorkerMessage(slot: Slot, msg: FromWorker): void {
    if (msg.kind !== 'result' && msg.kind !== 'run-error') return;
    const job = slot.job;
    slot.job = undefined;
    slot.abandoned = false;
    if (job && job.id === msg.id && !job.settled) {
      if (msg.kind === 'result') {
        const out: Outputs = {};
        for (let i = 0; i < msg.names.length; i++) out[msg.names[i] as string] = this.config.makeTensor(msg.tensors[i] as WireTensor);
        this.settle(job, undefined, out, msg.runMs);
      } else {
        this.settle(job, fromWireError(msg.error), undefined, msg.runMs);
      }
    }
    if (!slot.stopping) this.idle.push(slot);
    this.dispatch();
  }

  private settle(job: Job, error: unknown, out?: Outputs, runMs = 0): void {
    if (job.settled) return;
    job.settled = true;
    job.cleanup();
    const i = this.queue.indexOf(job);
    if (i >= 0) this.queue.splice(i, 1);
    if (error === undefined) this.counts.completed++;
    else this.counts.failed++;
    this.emitRun(job.submitted, job.dispatched || performance.now(), runMs, error, job.worker?.index);
    if (error === undefined) job.resolve(out as Outputs);
    else job.reject(error);
  }

  /**
   * Timeout or cancellation: a queued run leaves the queue; a running one is rejected now and its
   * worker finishes it (the result is dropped). The worker is never terminated mid-run: measured here,
   * terminating a thread inside onnxruntime-node's run() aborts the whole process ("terminate called
   * after throwing an instance of 'Napi::Error'").
   */
  private abandon(job: Job, error: ForgeError): void {
    if (job.settled) return;
    const slot = job.worker;
    this.settle(job, error);
    if (slot && slot.job === job) slot.abandoned = true;
    this.dispatch();
  }

  private onCrash(slot: Slot, code: number, lastError: string): void {
    this.counts.crashed++;
    const why = `pool worker ${slot.index} stopped unexpectedly (exit code ${code})${lastError ? `: ${lastError}` : ''}`;
    const job = slot.job;
    slot.job = undefined;
    if (job) this.settle(job, new ForgeError(ForgeErrorCode.RUNTIME, `${why}; this run was lost, the others continue on a replacement`, { details: { worker: slot.index, exitCode: code } }));
    const replaced = !this.releasing || this.queue.length > 0;
    this.events.emit('worker-exit', { worker: slot.index, error: why, replaced });
    if (replaced) this.replace(why);
    else this.dispatch();
  }

  private replace(why: string): void {
    const init = this.replacementInit;
    if (!init) return;
    this.counts.restarts++;
    this.spawnReady(Promise.resolve(init), false).then(
      (slot) => {
        this.failedStarts = 0;
        if (this.releasing && this.queue.length === 0) {
          void this.stop(slot);
          this.dispatch();
          return;
        }
        this.idle.push(slot);
        this.dispatch();
      },
      (e: unknown) => {
        this.failedStarts++;
        if (this.failedStarts <= this.config.maxRestarts) {
          this.replace(why);
          return;
        }
        if (this.slots.length === 0) {
          this.broken = new ForgeError(ForgeErrorCode.RUNTIME, `the pool has no workers left: ${why}; restarting failed ${this.failedStarts} times: ${errorMessage(e)}`, { cause: e });
          for (const job of [...this.queue]) this.settle(job, this.broken);
          this.dispatch();
        }
      },
    );
  }

  private emitRun(submitted: number, dispatched: number, runMs: number, error: unknown, worker: number | undefined): void {
    if (!this.events.has('run')) return;
    const ended = performance.now();
    this.events.emit('run', {
      sessionId: this.id,
      provider: this.provider,
      queueMs: Math.max(0, dispatched - submitted),
      runMs,
      totalMs: ended - submitted,
      ok: error === undefined,
      ...(error === undefined ? {} : { error: errorMessage(error), errorCode: isForgeError(error) ? error.code : ForgeErrorCode.RUNTIME }),
      ...(worker === undefined ? {} : { worker }),
    });
  }

  /**
   * Frees a worker's session; the worker then closes its port and its thread ends by itself. The pool
   * does not wait for that end (V8 first finishes background WebAssembly compilation, 6 s for
   * onnxruntime-web's module here) and does not terminate the thread (see `abandon`).
   */
  private stop(slot: Slot): Promise<void> {
    if (slot.stopping) {
      // Already dismissed (it never got a session): it ends by itself.
      this.remove(slot);
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      slot.stopping = true;
      const done = () => {
        this.remove(slot);
        slot.worker.unref();
        resolve();
      };
      slot.worker.once('exit', done);
      slot.worker.on('message', (m: FromWorker) => {
        if (m.kind === 'released') done();
      });
      try {
        slot.worker.postMessage({ kind: 'release' } satisfies ToWorker);
      } catch {
        done();
      }
    });
  }

  /** Stops taking runs, lets queued and running ones finish, frees every session and stops the workers. */
  release(): Promise<void> {
    this.releasing ??= (async () => {
      if (this.queue.length > 0 || this.slots.some((s) => s.job || s.abandoned)) {
        await new Promise<void>((resolve) => {
          this.drained = resolve;
          this.dispatch();
        });
      }
      await Promise.all([...this.slots].map((slot) => this.stop(slot)));
      this.idle.length = 0;
      this.events.emit('release', { sessionId: this.id });
      this.events.clear();
    })();
    return this.releasing;
  }
}
