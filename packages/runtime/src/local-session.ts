import { ForgeError, ForgeErrorCode, cancelledError, errorMessage, isForgeError, nullThrows } from '@onnx-forge/core';
import type { BackendSession, RunThread, RuntimeBackend } from './backend.js';
import { type Clock, systemClock } from './clock.js';
import type { EmptyInputHazard } from './empty-input-hazard.js';
import { Emitter } from './emitter.js';
import { prepareFeeds } from './feeds.js';
import { checkRunOptions } from './run-options.js';
import type { Feeds, Outputs, Precision, ProviderSkip, ReadyInfo, RunOptions, Session, SessionEvents, ValueInfo } from './types.js';

let nextId = 0;
export function newSessionId(prefix: string): string {
  return `${prefix}${++nextId}`;
}

export interface LocalSessionInfo {
  readonly backend: RuntimeBackend;
  readonly provider: string;
  readonly precision: Precision;
  readonly precisionReason: string;
  readonly skipped: readonly ProviderSkip[];
  /** Queue runs instead of overlapping them (see ProviderFeatures.exclusiveRuns). */
  readonly exclusiveRuns?: boolean;
  /** The thread whose runs execute one at a time, shared with the provider's other sessions (see ProviderFeatures.thread). */
  readonly thread?: RunThread | undefined;
  /** Times runs and enforces their limits (default: the system clock). */
  readonly clock?: Clock;
  /** A node onnxruntime aborts the process on when an empty tensor reaches it: empty feeds are refused. */
  readonly emptyInputHazard?: EmptyInputHazard | undefined;
}

/**
 * A session in this thread. onnxruntime's run() is synchronous inside (it blocks the event loop for
 * the whole inference, onnxruntime #19611), so timeouts and cancellation are checked before the run
 * starts and when it ends: a result that arrives after the deadline still rejects with FORGE_TIMEOUT,
 * so the rule callers see is the same as the pool's, which also never blocks (see createPool). On a
 * provider whose sessions refuse overlapping runs (WebGPU, WebNN), runs wait for the one before them;
 * that wait is the run event's queueMs. On onnxruntime-node, whose runs execute one at a time on the
 * thread whichever session they belong to, queueMs is the time behind the runs ahead.
 */
export class LocalSession implements Session {
  readonly id = newSessionId('s');
  readonly backend: string;
  readonly provider: string;
  readonly precision: Precision;
  readonly precisionReason: string;
  readonly skipped: readonly ProviderSkip[];
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly ValueInfo[];
  readonly outputMetadata: readonly ValueInfo[];
  /** A node onnxruntime aborts the process on when an empty tensor reaches it; empty feeds are refused with FORGE_BAD_INPUT. */
  readonly emptyInputHazard: EmptyInputHazard | undefined;
  private readonly inputsByName: Map<string, ValueInfo>;
  private readonly events = new Emitter<SessionEvents>();
  private readonly impl: RuntimeBackend;
  private readonly clock: Clock;
  private inflight = 0;
  private idle: (() => void) | undefined;
  private releasing: Promise<void> | undefined;
  /** With exclusive runs: settles when the last run queued so far has ended. */
  private tail: Promise<unknown> | undefined;
  private readonly thread: RunThread | undefined;

  constructor(private readonly handle: BackendSession, info: LocalSessionInfo) {
    this.impl = info.backend;
    this.clock = info.clock ?? systemClock;
    this.backend = info.backend.name;
    this.provider = info.provider;
    this.precision = info.precision;
    this.precisionReason = info.precisionReason;
    this.skipped = info.skipped;
    this.inputNames = handle.inputNames;
    this.outputNames = handle.outputNames;
    this.inputMetadata = handle.inputMetadata;
    this.outputMetadata = handle.outputMetadata;
    this.inputsByName = new Map(handle.inputMetadata.map((m) => [m.name, m]));
    this.emptyInputHazard = info.emptyInputHazard;
    if (info.exclusiveRuns) this.tail = Promise.resolve();
    this.thread = info.thread;
  }

  get released(): boolean {
    return this.releasing !== undefined;
  }

  on<K extends keyof SessionEvents>(event: K, listener: (payload: SessionEvents[K]) => void): () => void {
    return this.events.on(event, listener);
  }

  /** Used by createSession to announce the ready event to listeners given in its options. */
  emitReady(info: ReadyInfo): void {
    this.events.emit('ready', info);
  }

  run(feeds: Feeds, options?: RunOptions): Promise<Outputs> {
    const started = this.clock.now();
    let ortFeeds: Record<string, unknown>;
    try {
      if (this.releasing) throw new ForgeError(ForgeErrorCode.RUNTIME, `session ${this.id} was released; create a new one`);
      checkRunOptions(options, this.outputNames);
      if (options?.signal?.aborted) throw cancelled(options.signal);
      const prepared = prepareFeeds(feeds, this.inputMetadata, this.inputsByName, this.emptyInputHazard);
      ortFeeds = {};
      for (const [i, name] of prepared.names.entries()) ortFeeds[name] = this.impl.toTensor(nullThrows(prepared.tensors[i], `prepareFeeds gave no tensor for input '${name}'`));
    } catch (e) {
      this.emitRun(started, started, e);
      return Promise.reject(e);
    }
    this.inflight++;
    const submitted = this.clock.now();
    let runStart = submitted;
    let running: Promise<Awaited<ReturnType<BackendSession['run']>>>;
    if (this.tail) {
      running = this.tail.then(() => {
        runStart = this.clock.now();
        // A run that waited behind others may have been cancelled or run out of time meanwhile.
        if (options?.signal?.aborted) throw cancelled(options.signal);
        if (options?.timeoutMs !== undefined && runStart - started > options.timeoutMs) {
          throw new ForgeError(ForgeErrorCode.TIMEOUT, `run waited ${(runStart - started).toFixed(1)} ms for the runs before it, over its ${options.timeoutMs} ms limit`, { details: { timeoutMs: options.timeoutMs, queued: true } });
        }
        return this.handle.run(ortFeeds, options?.outputs);
      });
      this.tail = running.catch(() => undefined);
    } else {
      running = this.handle.run(ortFeeds, options?.outputs);
    }
    // On a shared thread runs execute in the order issued: this one began when it was issued or when
    // the run ahead of it ended, whichever is later.
    const ending = (): number => {
      const ended = this.clock.now();
      if (this.thread) {
        runStart = Math.max(submitted, this.thread.ends.get(this.clock) ?? submitted);
        this.thread.ends.set(this.clock, ended);
      }
      return ended;
    };
    return running.then(
      (out) => {
        const ended = ending();
        this.done();
        if (options?.timeoutMs !== undefined && ended - started > options.timeoutMs) {
          const e = new ForgeError(ForgeErrorCode.TIMEOUT, `run took ${(ended - started).toFixed(1)} ms, over its ${options.timeoutMs} ms limit (in-process runs cannot be interrupted; use createPool)`, { details: { timeoutMs: options.timeoutMs } });
          this.emitRun(started, runStart, e, ended, runStart - submitted);
          throw e;
        }
        if (options?.signal?.aborted) {
          const e = cancelled(options.signal);
          this.emitRun(started, runStart, e, ended, runStart - submitted);
          throw e;
        }
        this.emitRun(started, runStart, undefined, ended, runStart - submitted);
        return out;
      },
      (e: unknown) => {
        const ended = ending();
        this.done();
        const err = isForgeError(e) ? e : new ForgeError(ForgeErrorCode.RUNTIME, `onnxruntime run failed on ${this.provider}: ${errorMessage(e)}`, { cause: e });
        this.emitRun(started, runStart, err, ended, runStart - submitted);
        throw err;
      },
    );
  }

  private done(): void {
    if (--this.inflight === 0 && this.idle) this.idle();
  }

  private emitRun(started: number, runStart: number, error: unknown, ended = this.clock.now(), queueMs = 0): void {
    if (!this.events.has('run')) return;
    this.events.emit('run', {
      sessionId: this.id,
      provider: this.provider,
      queueMs,
      runMs: ended - runStart,
      totalMs: ended - started,
      ok: error === undefined,
      ...(error === undefined ? {} : { error: errorMessage(error), errorCode: isForgeError(error) ? error.code : ForgeErrorCode.RUNTIME }),
    });
  }

  release(): Promise<void> {
    this.releasing ??= (async () => {
      if (this.inflight > 0) await new Promise<void>((resolve) => (this.idle = resolve));
      await this.handle.release();
      this.events.emit('release', { sessionId: this.id });
      this.events.clear();
    })();
    return this.releasing;
  }
}

export function cancelled(signal: AbortSignal): ForgeError {
  return cancelledError(signal, 'run cancelled');
}
