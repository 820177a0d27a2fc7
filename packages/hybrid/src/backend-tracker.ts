import { errorMessage } from '@onnx-forge/core';
import type { Backend } from './backend.js';
import { type BreakerOptions, type BreakerState, CircuitBreaker } from './circuit-breaker.js';
import type { CanaryCheck } from './compare-outputs.js';
import { LatencyWindow, type SampleSummary } from './latency-window.js';
import { PeakEwma } from './peak-ewma.js';
import { errorCode } from './request-errors.js';

/** What `stats().backends[name].state` says: the breaker's state, or quarantined by the canary. */
export type BackendState = 'healthy' | 'open' | 'half-open' | 'quarantined';

/** Why a call went to a backend. */
export type Route =
  /** the current choice */
  | 'selected'
  /** a share of traffic that keeps another backend's figures fresh */
  | 'exploration'
  /** the one request that tries a half-open backend */
  | 'probe'
  /** one of the first `minSamples` calls that measure a backend */
  | 'calibration'
  /** the same request after the backends before it failed */
  | 'fallback'
  /** the same request, sent on when the first backend had not answered within its usual latency */
  | 'hedge'
  /** the reference, run beside another backend to check its answer */
  | 'canary'
  | 'revalidation'
  | 'warmup';

export const ROUTES: readonly Route[] = ['selected', 'exploration', 'probe', 'calibration', 'fallback', 'hedge', 'canary', 'revalidation', 'warmup'];

/** Why a backend was quarantined: the check that failed and when. */
export interface QuarantineEvidence {
  readonly backend: string;
  /** Clock time. */
  readonly at: number;
  /** Number of the request (1-based) whose check tipped it. */
  readonly request: number;
  readonly reasons: readonly string[];
  readonly check: CanaryCheck;
  /** Failed checks since the last revalidation, this one included. */
  readonly failedChecks: number;
}

export interface AccuracyStats {
  /** Canary and revalidation comparisons with the reference. */
  readonly checks: number;
  readonly failedChecks: number;
  readonly meanCosine: number | undefined;
  readonly worstCosine: number | undefined;
  readonly maxAbsError: number | undefined;
  readonly argmaxRows: number;
  readonly argmaxDisagreements: number;
}

/** A plain snapshot of one backend's figures. */
export interface BackendStats {
  readonly name: string;
  readonly state: BackendState;
  readonly reference: boolean;
  /** Whether it may answer requests (false for a reference kept for checks only). */
  readonly servable: boolean;
  readonly sizeBytes: number | undefined;
  /**
   * Calls made to the backend: for requests, canary checks, revalidations, and its warm-up (see
   * `HybridModel.warmup`; `routes` tells them apart). Each ends as one of `successes`, `errors` or
   * `cancelled`, or is still running: calls = successes + errors + cancelled + the calls running that
   * have not timed out (a timed-out call is an error at once, though it stays in `inFlight` until the
   * backend returns).
   */
  readonly calls: number;
  /** Calls that answered, a warm-up that went well included (`meanMs` and the percentiles leave the warm-up out). */
  readonly successes: number;
  /** Calls that failed: time-outs, bad input and a failed warm-up included. */
  readonly errors: number;
  readonly timeouts: number;
  /** Calls aborted because the other call of their hedged request answered first (neither errors nor latency samples). */
  readonly cancelled: number;
  /** Calls that failed on the request's own fault (FORGE_BAD_INPUT): errors, but not counted by the breaker. */
  readonly badInput: number;
  /** Failed calls of requests that every backend tried failed: errors, but not counted by the breaker (the request is the likelier cause). */
  readonly unattributed: number;
  /**
   * errors / (successes + errors): the share of the calls that ended that failed. Calls still in
   * flight and cancelled ones (the other call of a hedged request answered first) are neither; 0 before
   * any call ended.
   */
  readonly errorRate: number;
  readonly inFlight: number;
  /** Requests whose answer came from this backend. */
  readonly served: number;
  readonly routes: Readonly<Record<Route, number>>;
  /** Duration of the first call (warm-up or request), failed or not. */
  readonly coldStartMs: number | undefined;
  /** Over every successful call but the warm-up. */
  readonly meanMs: number | undefined;
  readonly peakEwmaMs: number | undefined;
  /** Over the last `statistics.window` successful calls. */
  readonly p50Ms: number | undefined;
  readonly p95Ms: number | undefined;
  readonly p99Ms: number | undefined;
  readonly windowSize: number;
  /**
   * What the latency policies compare: the median of the last `stability.decisionWindow` calls' own
   * time. For a backend that `sharesThread` or gives `runsAtOnce`, each call from when its turn came
   * on the thread or in its queue (under concurrency its latency also holds that wait, which the other
   * backends' calls did not share alike); for any other backend, its latency.
   */
  readonly runP50Ms: number | undefined;
  readonly breaker: { readonly state: BreakerState; readonly callsInWindow: number; readonly failuresInWindow: number; readonly errorRateInWindow: number; readonly timesOpened: number; readonly openedAt: number | undefined; readonly nextProbeAt: number | undefined };
  readonly accuracy: AccuracyStats;
  readonly quarantine: QuarantineEvidence | undefined;
  readonly lastError: { readonly code: string | undefined; readonly message: string; readonly at: number } | undefined;
}

/** The live figures of one backend inside a HybridModel. */
export class BackendTracker {
  calls = 0;
  successes = 0;
  /** Successful calls with a latency sample (every success but a warm-up): what the chooser trusts. */
  timed = 0;
  errors = 0;
  timeouts = 0;
  cancelled = 0;
  badInput = 0;
  unattributed = 0;
  inFlight = 0;
  served = 0;
  coldStartMs: number | undefined;
  latencySum = 0;
  lastSampleAt = Number.NEGATIVE_INFINITY;
  /** Calibration calls running now (one at a time per backend). */
  calibrating = 0;
  readonly routes: Record<Route, number> = Object.fromEntries(ROUTES.map((r) => [r, 0])) as Record<Route, number>;
  lastError: BackendStats['lastError'];
  readonly window: LatencyWindow;
  /**
   * What the chooser compares: each call's own time. For a backend that runs on the caller's thread
   * (`Backend.sharesThread`: in-process sessions, which run one at a time, onnxruntime #19611) or in
   * front of its own servers (`Backend.runsAtOnce`: a pool's workers), the time from the later of the
   * call's start and the end of the call ahead of it there (see RunLane), so that under concurrency
   * its wait behind other requests' runs is left out; for any other backend, the call's latency.
   */
  readonly own: LatencyWindow;
  readonly ewma: PeakEwma;
  readonly breaker: CircuitBreaker;
  checks = 0;
  failedChecks = 0;
  failedSinceValidation = 0;
  private cosineSum = 0;
  private cosineCount = 0;
  private worstCosine: number | undefined;
  private maxAbs: number | undefined;
  private argmaxRows = 0;
  private argmaxDisagreements = 0;
  quarantine: QuarantineEvidence | undefined;
  private censored = 0;
  private p99Cache: { value: number | undefined } | undefined;
  private recentCache: { n: number; samples: number; value: SampleSummary } | undefined;

  constructor(
    readonly backend: Backend,
    /** Position among the backends given (ties and the order policy use it). */
    readonly index: number,
    readonly isReference: boolean,
    readonly servable: boolean,
    options: { window: number; ewmaTauMs: number; breaker: BreakerOptions },
  ) {
    this.window = new LatencyWindow(options.window);
    this.own = new LatencyWindow(options.window);
    this.ewma = new PeakEwma(options.ewmaTauMs);
    this.breaker = new CircuitBreaker(options.breaker);
  }

  get name(): string {
    return this.backend.name;
  }

  get state(): BackendState {
    if (this.quarantine) return 'quarantined';
    const b = this.breaker.state;
    return b === 'closed' ? 'healthy' : b;
  }

  /** May take ordinary traffic: healthy and servable. */
  get available(): boolean {
    return this.servable && this.state === 'healthy';
  }

  get measured(): boolean {
    return this.timed > 0 && this.window.count > 0;
  }

  recordLatency(ms: number, now: number, ownMs = ms): void {
    this.successes++;
    this.timed++;
    this.latencySum += ms;
    this.window.add(ms);
    this.own.add(Math.min(ms, ownMs));
    this.ewma.observe(ms, now);
    this.lastSampleAt = now;
    this.p99Cache = undefined;
  }

  /**
   * A call cut short after `ms` (its hedged request was answered elsewhere): it took at least that
   * long, so the time goes into the latency window as a lower bound. Left out, the window would keep
   * only the calls that were fast enough to finish, its p95 (the hedge delay) would sink toward the
   * fast ones, and ever more requests would be hedged. It is not a success: the mean, peak-EWMA and
   * counts leave it out.
   */
  recordCensored(ms: number): void {
    this.window.add(ms);
    this.own.add(ms);
    this.censored++;
    this.p99Cache = undefined;
  }

  recordError(error: unknown, now: number, timeout: boolean): void {
    this.errors++;
    if (timeout) this.timeouts++;
    this.lastError = Object.freeze({ code: errorCode(error), message: errorMessage(error), at: now });
  }

  /**
   * A warm-up that went well: a success, but no latency sample (a first run that compiles kernels says
   * nothing of the backend's latency; its time is the cold start).
   */
  recordWarmupSuccess(): void {
    this.successes++;
  }

  recordCheck(check: CanaryCheck): void {
    this.checks++;
    if (!check.passed) {
      this.failedChecks++;
      this.failedSinceValidation++;
    }
    const cosine = check.cosine;
    this.cosineSum += cosine;
    this.cosineCount++;
    this.worstCosine = this.worstCosine === undefined ? cosine : Math.min(this.worstCosine, cosine);
    this.maxAbs = Math.max(this.maxAbs ?? 0, check.maxAbsError);
    this.argmaxRows += check.argmaxRows;
    this.argmaxDisagreements += check.argmaxDisagreements;
  }

  /** Mean cosine against the reference so far (undefined before the first check). */
  get meanCosine(): number | undefined {
    return this.cosineCount ? this.cosineSum / this.cosineCount : undefined;
  }

  /** Median and its standard error over the last `n` calls' own times (see `own`): what the chooser compares. */
  recent(n: number): SampleSummary {
    // Ranking asks for it on every request and in every comparison; it changes only with a new sample.
    const c = this.recentCache;
    const samples = this.timed + this.censored;
    if (c && c.n === n && c.samples === samples) return c.value;
    const value = this.own.recent(n);
    this.recentCache = { n, samples, value };
    return value;
  }

  /**
   * The p99 the latency target is held against: of the calls' own times (see `own`), as the medians
   * are compared. Under concurrency the chosen backend's calls queue behind each other and an explored
   * one's do not: held against latencies, every other backend would meet the target the chosen one
   * misses, and the choice would move to a slower backend, whose calls would then queue in turn.
   */
  p99(): number | undefined {
    this.p99Cache ??= { value: this.own.quantile(0.99) };
    return this.p99Cache.value;
  }

  snapshot(now: number, decisionWindow: number): BackendStats {
    const w = this.window;
    const windowCounts = this.breaker.window(now);
    return {
      name: this.name,
      state: this.state,
      reference: this.isReference,
      servable: this.servable,
      sizeBytes: this.backend.sizeBytes,
      calls: this.calls,
      successes: this.successes,
      errors: this.errors,
      timeouts: this.timeouts,
      cancelled: this.cancelled,
      badInput: this.badInput,
      unattributed: this.unattributed,
      errorRate: this.errors ? this.errors / (this.successes + this.errors) : 0,
      inFlight: this.inFlight,
      served: this.served,
      routes: { ...this.routes },
      coldStartMs: this.coldStartMs,
      meanMs: this.timed ? this.latencySum / this.timed : undefined,
      peakEwmaMs: this.ewma.get(),
      p50Ms: w.quantile(0.5),
      p95Ms: w.quantile(0.95),
      p99Ms: w.quantile(0.99),
      windowSize: w.count,
      runP50Ms: this.timed + this.censored ? this.recent(decisionWindow).median : undefined,
      breaker: {
        state: this.breaker.state,
        callsInWindow: windowCounts.calls,
        failuresInWindow: windowCounts.failures,
        errorRateInWindow: windowCounts.errorRate,
        timesOpened: this.breaker.timesOpened,
        openedAt: this.breaker.openedAt,
        nextProbeAt: this.breaker.nextProbeAt,
      },
      accuracy: {
        checks: this.checks,
        failedChecks: this.failedChecks,
        meanCosine: this.meanCosine,
        worstCosine: this.worstCosine,
        maxAbsError: this.maxAbs,
        argmaxRows: this.argmaxRows,
        argmaxDisagreements: this.argmaxDisagreements,
      },
      quarantine: this.quarantine,
      lastError: this.lastError,
    };
  }
}
