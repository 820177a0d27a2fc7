import { ForgeError, ForgeErrorCode, errorMessage, isForgeError, nullThrows, onAbort } from '@onnx-forge/core';
import type { WorkerOptions } from 'node:worker_threads';
import { resolveBackend } from './backend-registry.js';
import type { Clock } from './clock.js';
import type { EmptyInputHazard } from './empty-input-hazard.js';
import { Emitter } from './emitter.js';
import { prepareFeeds } from './feeds.js';
import { checkRunOptions } from './run-options.js';
import { cancelled, newSessionId } from './local-session.js';
import { locateWorker } from './locate-worker.js';
import { type ModelVariants, type ModelSource, isModelVariants, normalizeModel } from './model-source.js';
import { type FromWorker, type ToWorker, type WireModel, type WireTensor, type WorkerReady, type WorkerSessionOptions, fromWireError, transferList } from './pool-protocol.js';
import { type PoolOptions, resolvePoolOptions } from './pool-options.js';
import { type ProviderConfig, providerName } from './provider-config.js';
import { type QueuedRun, RunQueue } from './run-queue.js';
import type { Feeds, OutputTensor, Outputs, Precision, ProviderSkip, RunOptions, Session, SessionEvents, TensorLike, ValueInfo } from './types.js';
import { type PoolWorker, WorkerSlot } from './worker-slot.js';

/**
 * N sessions in N worker threads behind one Session. onnxruntime's run() blocks the thread it runs
 * on for the whole inference (onnxruntime #19611); here it blocks a worker, and the main thread only
 * validates feeds and passes messages. Runs wait in a bounded FIFO queue (full: FORGE_OVERLOADED at
 * once, so callers can shed load), may time out (FORGE_TIMEOUT) or be cancelled (FORGE_CANCELLED), and
 * a worker that dies is replaced: the run it held fails, queued runs go to the others. The parts live
 * beside this file: pool-options.ts (checks and defaults), run-queue.ts, worker-slot.ts (one thread),
 * locate-worker.ts (its entry file); PoolSession orchestrates them.
 */

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

/** Starts a pool of `workers` sessions of the model and resolves once all of them are ready. */
export async function createPool(model: ModelSource | ModelVariants, options: PoolOptions = {}): Promise<PoolSession> {
  const o = await resolvePoolOptions(options);
  let wireModel: WireModel;
  if (isModelVariants(model)) {
    const v: { [P in Precision]?: Uint8Array | string } = {};
    for (const p of ['fp32', 'fp16', 'int8'] as const) {
      const m = model[p];
      if (m !== undefined) v[p] = normalizeModel(m);
    }
    wireModel = v;
  } else {
    wireModel = normalizeModel(model);
  }
  const located = locateWorker(o.workerUrl);
  const wt = await import('node:worker_threads');
  const spawnWorker = o.spawn ?? ((url: URL, wo: WorkerOptions) => new wt.Worker(url, wo));
  // Outputs arrive as plain arrays and become the backend's own Tensors here, as in-process outputs are.
  const tensors = await resolveBackend(o.backend);

  const pool = new PoolSession({
    backend: o.backend,
    maxQueue: o.maxQueue,
    timeoutMs: o.timeoutMs,
    maxRestarts: o.maxRestarts,
    // A WireTensor is a TensorLike whose data came through structured cloning.
    makeTensor: (t) => tensors.toTensor(t as TensorLike) as OutputTensor,
    spawn: () => spawnWorker(located.url, { workerData: located.workerData, ...(o.resourceLimits ? { resourceLimits: o.resourceLimits } : {}) }),
    onEvent: o.onEvent,
    clock: o.clock,
  });
  try {
    await pool.start(wireModel, o.session, o.workers, o.workerPriority);
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
  spawn(): PoolWorker;
  onEvent: PoolOptions['onEvent'];
  clock: Clock;
}

type Settlement = { readonly ok: true; readonly out: Outputs } | { readonly ok: false; readonly error: unknown };

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
  /** From the worker's session: a node onnxruntime aborts on when an empty tensor reaches it. */
  emptyInputHazard: EmptyInputHazard | undefined;
  outputMetadata: readonly ValueInfo[] = [];
  private inputsByName = new Map<string, ValueInfo>();
  private readonly events = new Emitter<SessionEvents>();
  private readonly slots: WorkerSlot[] = [];
  private readonly idle: WorkerSlot[] = [];
  private readonly queue: RunQueue;
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
    this.queue = new RunQueue(config.maxQueue);
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
    const busy = this.slots.filter((s) => s.busy).length;
    return { workers: this.slots.length, idle: this.idle.length, busy, queued: this.queue.length, maxQueue: this.queue.capacity, ...this.counts };
  }

  /** Starts the first worker (which walks the provider chain), then the rest on the provider it found. */
  async start(model: WireModel, options: WorkerSessionOptions, count: number, priority?: number): Promise<void> {
    const started = this.config.clock.now();
    // All threads boot (load onnxruntime and this package) at once; the others get their init message
    // when the first has found the provider, so the chain is walked only once.
    const restInit = deferred<ToWorker>();
    restInit.promise.catch(() => undefined);
    const firstReady = this.spawnReady(Promise.resolve({ kind: 'init', model, options, priority }), true);
    firstReady.catch(() => undefined);
    const rest = Array.from({ length: count - 1 }, () => this.spawnReady(restInit.promise, false));
    // One may fail (its thread ends as it boots) while the first still loads; it is awaited below.
    for (const r of rest) r.catch(() => undefined);
    let first: WorkerSlot;
    try {
      first = await firstReady;
    } catch (e) {
      restInit.reject(e);
      await Promise.allSettled(rest);
      throw e;
    }
    const chosen: Uint8Array | string = isModelVariants(model) ? nullThrows(model[this.precision], `the first worker chose precision ${this.precision}, which was not among the variants sent`) : model;
    const provider: ProviderConfig = (options.providers ?? []).find((p) => providerName(p) === this.provider) ?? this.provider;
    this.replacementInit = {
      kind: 'init',
      model: chosen,
      options: { ...options, providers: [provider], precision: this.precision, strict: true, warmup: false },
      priority,
    };
    restInit.resolve(this.replacementInit);
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
      createMs: this.config.clock.now() - started,
    });
  }

  /** Spawns a worker, sends `init`, resolves with its slot when the session inside is ready. */
  private spawnReady(init: Promise<ToWorker>, primary: boolean): Promise<WorkerSlot> {
    let worker: PoolWorker;
    try {
      worker = this.config.spawn();
    } catch (e) {
      return Promise.reject(new ForgeError(ForgeErrorCode.RUNTIME, `cannot start a pool worker: ${errorMessage(e)}`, { cause: e }));
    }
    const slot = new WorkerSlot(this.nextIndex++, worker);
    this.slots.push(slot);
    return slot.start(
      init,
      {
        ...(primary ? { skip: (skip: ProviderSkip) => this.config.onEvent?.({ type: 'skip', ...skip }), ready: (info: WorkerReady) => this.adopt(info) } : {}),
        message: (s, msg) => this.onWorkerMessage(s, msg),
        exit: (s, code, lastError) => {
          this.remove(s);
          if (s.ready && !s.stopping) this.onCrash(s, code, lastError);
        },
      },
      primary ? '' : 'a pool worker could not load the model: ',
    );
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
    this.emptyInputHazard = msg.emptyInputHazard;
  }

  private remove(slot: WorkerSlot): void {
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    const j = this.idle.indexOf(slot);
    if (j >= 0) this.idle.splice(j, 1);
  }

  run(feeds: Feeds, options: RunOptions = {}): Promise<Outputs> {
    const submitted = this.config.clock.now();
    let names: string[];
    let tensors: WireTensor[];
    try {
      if (this.releasing) throw new ForgeError(ForgeErrorCode.RUNTIME, `pool ${this.id} was released; create a new one`);
      if (this.broken) throw this.broken;
      checkRunOptions(options, this.outputNames);
      if (options.signal?.aborted) throw cancelled(options.signal);
      const prepared = prepareFeeds(feeds, this.inputMetadata, this.inputsByName, this.emptyInputHazard);
      names = prepared.names;
      // Strings and typed arrays both cross to workers by structured cloning.
      tensors = prepared.tensors.map((t) => ({ type: t.type, dims: [...t.dims], data: t.data as WireTensor['data'] }));
      if (this.idle.length === 0 && this.queue.full) {
        this.counts.rejected++;
        throw new ForgeError(ForgeErrorCode.OVERLOADED, `the pool's queue is full (${this.queue.length} runs waiting for ${this.slots.length} workers); retry later or raise maxQueue`, {
          details: { queued: this.queue.length, maxQueue: this.queue.capacity, workers: this.slots.length },
        });
      }
    } catch (e) {
      this.emitRun(submitted, submitted, 0, e, undefined);
      return Promise.reject(e);
    }
    return new Promise<Outputs>((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? this.config.timeoutMs;
      const clock = this.config.clock;
      let timer: unknown;
      let unsubscribe: (() => void) | undefined;
      const job: QueuedRun = {
        id: ++this.nextJob,
        names,
        tensors,
        outputs: options.outputs,
        transfer: options.transfer ?? false,
        submitted,
        dispatched: undefined,
        worker: undefined,
        settled: false,
        resolve,
        reject,
        cleanup: () => {
          if (timer !== undefined) clock.clearTimeout(timer);
          unsubscribe?.();
        },
      };
      if (timeoutMs !== undefined) {
        timer = clock.setTimeout(() => {
          const queued = job.worker === undefined;
          this.abandon(job, new ForgeError(ForgeErrorCode.TIMEOUT, `run did not finish within ${timeoutMs} ms (${queued ? 'it was still queued' : 'it was running'})`, { details: { timeoutMs, queued } }));
        }, timeoutMs);
      }
      const signal = options.signal;
      if (signal) unsubscribe = onAbort(signal, () => this.abandon(job, cancelled(signal)));
      this.queue.push(job);
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.idle.length > 0) {
      const job = this.queue.shift();
      if (!job) break;
      const slot = nullThrows(this.idle.shift(), 'the loop runs only while a worker is idle');
      job.worker = slot.index;
      job.dispatched = this.config.clock.now();
      slot.job = job;
      const msg: ToWorker = { kind: 'run', id: job.id, names: job.names, tensors: job.tensors, outputs: job.outputs };
      try {
        slot.worker.postMessage(msg, job.transfer ? transferList(job.tensors) : []);
      } catch (e) {
        slot.job = undefined;
        this.idle.push(slot);
        this.settle(job, { ok: false, error: new ForgeError(ForgeErrorCode.BAD_INPUT, `cannot send the feeds to a worker: ${errorMessage(e)}`, { cause: e }) });
      }
    }
    if (this.queue.length === 0 && this.drained && this.slots.every((s) => !s.busy)) this.drained();
  }

  private onWorkerMessage(slot: WorkerSlot, msg: FromWorker): void {
    if (msg.kind !== 'result' && msg.kind !== 'run-error') return;
    const job = slot.job;
    slot.job = undefined;
    slot.abandoned = false;
    if (job && job.id === msg.id && !job.settled) {
      if (msg.kind === 'result') {
        const out: Outputs = {};
        for (const [i, name] of msg.names.entries()) out[name] = this.config.makeTensor(nullThrows(msg.tensors[i], `the worker's result names output '${name}' but holds no tensor for it`));
        this.settle(job, { ok: true, out }, msg.runMs);
      } else {
        this.settle(job, { ok: false, error: fromWireError(msg.error) }, msg.runMs);
      }
    }
    if (!slot.stopping) this.idle.push(slot);
    this.dispatch();
  }

  private settle(job: QueuedRun, result: Settlement, runMs = 0): void {
    if (job.settled) return;
    job.settled = true;
    job.cleanup();
    this.queue.remove(job);
    if (result.ok) this.counts.completed++;
    else this.counts.failed++;
    this.emitRun(job.submitted, job.dispatched ?? this.config.clock.now(), runMs, result.ok ? undefined : result.error, job.worker);
    if (result.ok) job.resolve(result.out);
    else job.reject(result.error);
  }

  /**
   * Timeout or cancellation: a queued run leaves the queue; a running one is rejected now and its
   * worker finishes it (the result is dropped). The worker is never terminated mid-run: measured here,
   * terminating a thread inside onnxruntime-node's run() aborts the whole process ("terminate called
   * after throwing an instance of 'Napi::Error'").
   */
  private abandon(job: QueuedRun, error: ForgeError): void {
    if (job.settled) return;
    const slot = this.slots.find((s) => s.job === job);
    this.settle(job, { ok: false, error });
    if (slot) slot.abandoned = true;
    this.dispatch();
  }

  private onCrash(slot: WorkerSlot, code: number, lastError: string): void {
    this.counts.crashed++;
    const why = `pool worker ${slot.index} stopped unexpectedly (exit code ${code})${lastError ? `: ${lastError}` : ''}`;
    const job = slot.job;
    slot.job = undefined;
    if (job) this.settle(job, { ok: false, error: new ForgeError(ForgeErrorCode.RUNTIME, `${why}; this run was lost, the others continue on a replacement`, { details: { worker: slot.index, exitCode: code } }) });
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
          for (const job of this.queue.snapshot()) this.settle(job, { ok: false, error: this.broken });
          this.dispatch();
        }
      },
    );
  }

  private emitRun(submitted: number, dispatched: number, runMs: number, error: unknown, worker: number | undefined): void {
    if (!this.events.has('run')) return;
    const ended = this.config.clock.now();
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

  private async stop(slot: WorkerSlot): Promise<void> {
    await slot.stop();
    this.remove(slot);
  }

  /** Stops taking runs, lets queued and running ones finish, frees every session and stops the workers. */
  release(): Promise<void> {
    this.releasing ??= (async () => {
      if (this.queue.length > 0 || this.slots.some((s) => s.busy)) {
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

/** A promise with its settle functions, for a value that arrives from elsewhere (Promise.withResolvers needs Node 22). */
function deferred<T>(): { promise: Promise<T>; resolve(value: T): void; reject(reason: unknown): void } {
  let resolve: (value: T) => void = () => undefined;
  let reject: (reason: unknown) => void = () => undefined;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
