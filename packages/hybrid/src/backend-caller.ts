import { ForgeError, ForgeErrorCode, isForgeError, onAbort } from '@onnx-forge/core';
import type { Clock, Feeds, TensorLike } from '@onnx-forge/runtime';
import { callPredict } from './backend.js';
import type { BackendTracker, Route } from './backend-tracker.js';
import type { BreakerTransition } from './circuit-breaker.js';
import type { HybridMetrics } from './hybrid-metrics.js';
import { codeOf, disposedCall, requestCancelled } from './request-errors.js';
import { RunLane } from './run-lane.js';
import { withTimeout } from './with-timeout.js';

/** A failed call whose breaker verdict waits for the end of its request (see `settleBlame`). */
interface Blame {
  readonly t: BackendTracker;
  readonly probe: boolean;
}

/**
 * The failed calls of one request, with the caller's signal: every call made for the request gets
 * this list, so the signal reaches each of them (and a call not yet begun when it aborts never starts).
 */
export type RequestBlame = Blame[] & { readonly signal?: AbortSignal | undefined };

export interface CallOptions {
  readonly signal?: AbortSignal;
  /** The call probes a half-open backend (besides route 'probe': a checks-only reference's canary call). */
  readonly probe?: boolean;
  /**
   * Collects breaker failures instead of recording them (calls made for a request), until the request
   * settles them (`settleBlame`); a call that fails after that (the slower call of a hedged request
   * left to run, hedge.cancel false) is recorded against its backend at once.
   */
  readonly blame?: RequestBlame;
}

export interface CallerSettings {
  /** The HybridModel's name, for errors. */
  readonly model: string;
  readonly clock: Clock;
  readonly timeoutMs: number | undefined;
  readonly metrics: HybridMetrics | undefined;
  /** Whether dispose() has begun: no backend may be called any more. */
  readonly disposed: () => boolean;
  /** Aborted once every backend is disposed: a call still pending then can never be answered. */
  readonly stopping: AbortSignal;
  /** A backend's breaker moved (or stayed, undefined) after a call. */
  readonly onBreaker: (t: BackendTracker, transition: BreakerTransition | undefined, now: number) => void;
}

/**
 * The calls of a HybridModel to its backends, each with the time limit, statistics, breaker and
 * metrics around it: a call's own time apart from its wait on the thread or in its backend's queue,
 * the caller's abort passed on, and the breaker verdict on a request's failed calls held until the
 * request has settled.
 */
export class BackendCaller {
  /** The one thread every `sharesThread` backend runs on, one call at a time. */
  private readonly thread = new RunLane(1);
  /** Each backend's own queue, for those that say how many calls they run at once (`runsAtOnce`). */
  private readonly lanes = new Map<BackendTracker, RunLane>();
  /** Blame lists whose request has settled them: a failure that comes later is recorded directly. */
  private readonly settledBlame = new WeakSet<Blame[]>();

  constructor(private readonly s: CallerSettings) {}

  /** One call to one backend, with the time limit, statistics, breaker and metrics around it. */
  async call(t: BackendTracker, route: Route, feeds: Feeds, options: CallOptions = {}): Promise<Record<string, TensorLike>> {
    const s = this.s;
    // A request in flight when dispose() came: its backends are disposed, none may be called again.
    if (s.disposed()) throw disposedCall(s.model, t.name, false);
    const cancel = options.blame?.signal;
    if (cancel?.aborted) throw requestCancelled(s.model, cancel);
    // One signal for the backend when the call has one (the caller's or the hedge's): either, or
    // dispose(), stops it (linked by listeners dropped when the call settles, so the model's long-lived
    // signal gathers none). A call without one gets none: a controller per call cost more than the rest
    // of the call's bookkeeping, and dispose() still rejects it (below).
    let signal: AbortSignal | undefined;
    let unlink: (() => void)[] = [];
    if (cancel || options.signal) {
      const stop = new AbortController();
      signal = stop.signal;
      unlink = [cancel, options.signal, s.stopping].flatMap((g) => {
        if (!g) return [];
        if (g.aborted) {
          stop.abort(g.reason);
          return [];
        }
        return [onAbort(g, () => stop.abort(g.reason))];
      });
    }
    const clock = s.clock;
    this.count(t, route);
    const probe = route === 'probe' || options.probe === true;
    // The first call issued, not the first to finish: concurrent first calls race.
    const first = t.calls === 1 && t.coldStartMs === undefined;
    if (route === 'calibration') t.calibrating++;
    t.inFlight++;
    const t0 = clock.now();
    let running = callPredict(t.backend, feeds, signal);
    // In flight until the backend really finishes, even after a time-out or the caller's abort stopped the waiting.
    const lane = this.laneOf(t);
    const ticket = lane?.begin();
    let ownMs: number | undefined;
    const settled = () => {
      t.inFlight--;
      for (const u of unlink) u();
      if (lane) ownMs = lane.end(ticket as number, t0, clock.now());
    };
    running.then(settled, settled);
    if (cancel) running = whileNotAborted(running, cancel, () => requestCancelled(s.model, cancel, t.name));
    running = whileNotAborted(running, s.stopping, () => disposedCall(s.model, t.name, true));
    try {
      const outputs = await withTimeout(running, s.timeoutMs, clock, `backend '${t.name}'`);
      if (typeof outputs !== 'object' || outputs === null) {
        throw new ForgeError(ForgeErrorCode.RUNTIME, `backend '${t.name}' resolved to ${outputs === null ? 'null' : typeof outputs} instead of outputs by name`, { details: { backend: t.name } });
      }
      const now = clock.now();
      const ms = now - t0;
      if (first) t.coldStartMs = ms;
      t.recordLatency(ms, now, ownMs ?? ms);
      s.metrics?.success(t.name, ms / 1000);
      s.onBreaker(t, t.breaker.recordSuccess(now, probe), now);
      return outputs;
    } catch (e) {
      const now = clock.now();
      if (signal?.aborted || s.stopping.aborted) {
        // The other call of a hedged request answered first, or the caller gave the request up: this
        // one says nothing about the backend's health, only that it took at least this long.
        t.cancelled++;
        t.recordCensored(now - t0);
        if (probe) t.breaker.cancelProbe();
        throw e;
      }
      if (first) t.coldStartMs = now - t0;
      this.recordError(t, e, now, isForgeError(e, ForgeErrorCode.TIMEOUT));
      if (isForgeError(e, ForgeErrorCode.BAD_INPUT)) {
        // The request's own fault (opossum's errorFilter): every backend would refuse it, so it must
        // not open a healthy backend's circuit; a client sending bad feeds would otherwise take it out.
        t.badInput++;
        if (probe) t.breaker.cancelProbe();
      } else if (options.blame && !this.settledBlame.has(options.blame)) {
        options.blame.push({ t, probe });
      } else {
        s.onBreaker(t, t.breaker.recordFailure(now, probe), now);
      }
      throw e;
    } finally {
      if (route === 'calibration') t.calibrating--;
    }
  }

  /**
   * A backend's warm-up, counted as a call (route `warmup`); its duration is the cold start when it is
   * the backend's first call, and it is no latency sample. Failures are recorded, not thrown, and count
   * in the breaker's window. No time limit: a first run that compiles kernels may take far longer than
   * a request should.
   */
  async warmup(t: BackendTracker): Promise<void> {
    if (!t.backend.warmup) return;
    const clock = this.s.clock;
    const t0 = clock.now();
    try {
      if ((await t.backend.warmup()) === false) return;
      this.count(t, 'warmup');
      t.coldStartMs ??= clock.now() - t0;
      t.recordWarmupSuccess();
    } catch (e) {
      this.count(t, 'warmup');
      const now = clock.now();
      t.coldStartMs ??= now - t0;
      this.recordError(t, e, now, false);
      this.s.onBreaker(t, t.breaker.recordFailure(now, false), now);
    }
  }

  /**
   * The breaker verdict on a request's failed calls, once the request has settled. A failure counts
   * against its backend when another backend answered the same request, or when it was the only
   * backend tried: it is the backend's doing. When two or more backends all failed the same request,
   * the request itself is the likelier cause (token ids past the vocabulary make every variant's
   * Gather fail alike), and opening their circuits would only turn away the requests they can answer:
   * a client repeating such a request would take the model out for everyone. Those failures stay in
   * each backend's error counts, not in its breaker window.
   */
  settleBlame(blame: RequestBlame, answered: boolean): void {
    // From here on, a call of this request that fails (one left to run after the request was answered)
    // is recorded against its backend as it fails: this list has been read.
    this.settledBlame.add(blame);
    if (blame.length === 0) return;
    const now = this.s.clock.now();
    const count = answered || new Set(blame.map((b) => b.t)).size < 2;
    for (const { t, probe } of blame) {
      if (count) {
        this.s.onBreaker(t, t.breaker.recordFailure(now, probe), now);
      } else {
        t.unattributed++;
        if (probe) t.breaker.cancelProbe();
      }
    }
  }

  private count(t: BackendTracker, route: Route): void {
    t.calls++;
    t.routes[route]++;
    this.s.metrics?.call(t.name, route);
  }

  private recordError(t: BackendTracker, e: unknown, now: number, timeout: boolean): void {
    t.recordError(e, now, timeout);
    this.s.metrics?.error(t.name, codeOf(e));
  }

  /**
   * Where a backend's calls queue, if the model can tell: the thread (in-process sessions), or the
   * backend's own queue in front of `runsAtOnce` servers (a pool's workers); undefined for a backend
   * that says neither (its calls' latencies are taken as they are).
   */
  private laneOf(t: BackendTracker): RunLane | undefined {
    const b = t.backend;
    if (b.sharesThread === true) return this.thread;
    const n = b.runsAtOnce;
    if (n === undefined) return undefined;
    let lane = this.lanes.get(t);
    if (!lane) this.lanes.set(t, (lane = new RunLane(n)));
    return lane;
  }
}

/** `promise`, or the error `cancelled()` makes as soon as `signal` aborts (the work itself goes on). */
function whileNotAborted<T>(promise: Promise<T>, signal: AbortSignal, cancelled: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const stop = onAbort(signal, () => reject(cancelled()));
    promise.then(
      (value) => {
        stop();
        resolve(value);
      },
      (error: unknown) => {
        stop();
        reject(error);
      },
    );
  });
}
