import { ForgeError, ForgeErrorCode, errorMessage } from '@onnx-forge/core';
import { Emitter, type Feeds, type TensorLike } from '@onnx-forge/runtime';
import type { Backend, PredictOptions } from './backend.js';
import { BackendCaller, type RequestBlame } from './backend-caller.js';
import { type BackendStats, BackendTracker, type Route } from './backend-tracker.js';
import { Canary, type Served } from './canary.js';
import { hasNonFinite } from './compare-outputs.js';
import { Hedging } from './hedging.js';
import { checkBackends, checkPolicyOrder } from './hybrid-backends.js';
import type { HybridEvents, RevalidationReport } from './hybrid-events.js';
import { HybridMetrics } from './hybrid-metrics.js';
import { type HybridOptions, type Policy, type ResolvedOptions, resolveOptions } from './hybrid-options.js';
import { type HybridStats, RequestCounts } from './hybrid-stats.js';
import { type Attempt, allFailed, disposedRequest, requestCancelled } from './request-errors.js';
import { type Plan, RequestRouter } from './request-router.js';
import { settle } from './settle.js';
import { formatSummary } from './summary-table.js';

export type { BreakerEvent, HybridEvents, QuarantineEvent, RevalidationReport, SwitchEvent } from './hybrid-events.js';
export type { HybridStats } from './hybrid-stats.js';

function policyName(p: Policy): string {
  return typeof p === 'object' ? `order(${p.order.join(', ')})` : p;
}

/**
 * Several backends behind one: each request goes to the backend the policy prefers from live figures,
 * falls back to the next when that one fails or times out, and is checked now and then against a
 * reference so that a fast but wrong backend is quarantined rather than promoted. A HybridModel is a
 * Backend itself (it can be batched, or nested).
 *
 * Where a request goes is the router's (RequestRouter), each call to a backend the caller's
 * (BackendCaller), a hedged first call the hedging's (Hedging), an answer's check against the
 * reference the canary's (Canary); the model takes a request along its route: first try, canary
 * check, fallbacks.
 */
export class HybridModel implements Backend {
  readonly name: string;
  private readonly o: ResolvedOptions;
  private readonly trackers: readonly BackendTracker[];
  private readonly byName = new Map<string, BackendTracker>();
  private readonly events = new Emitter<HybridEvents>();
  private readonly metrics: HybridMetrics | undefined;
  private readonly counts: RequestCounts;
  private readonly router: RequestRouter;
  private readonly caller: BackendCaller;
  private readonly hedging: Hedging | undefined;
  /** Present when there is a reference: the checks against it. */
  private readonly canary: Canary | undefined;
  private disposed = false;
  /** Aborted once every backend is disposed: a call still pending then can never be answered. */
  private readonly stopping = new AbortController();

  constructor(options: HybridOptions) {
    const { backends, reference: refBackend } = checkBackends(options);
    this.o = resolveOptions(options, refBackend !== undefined);
    const o = this.o;
    checkPolicyOrder(o.policy, backends);
    this.name = o.name;
    this.trackers = backends.map((b, i) => new BackendTracker(b, i, b === refBackend, b !== refBackend || o.serveReference, { window: o.window, ewmaTauMs: o.ewmaTauMs, breaker: o.breaker }));
    for (const t of this.trackers) this.byName.set(t.name, t);
    const ref = this.trackers.find((t) => t.isReference);
    if (!this.trackers.some((t) => t.servable)) {
      throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, 'HybridModel: no backend may serve requests (the only one is the reference and serveReference is false)', { details: { option: 'serveReference' } });
    }
    this.counts = new RequestCounts(o.window);
    this.metrics = options.metrics ? new HybridMetrics(options.metrics, this.name, this.trackers.map((t) => t.name)) : undefined;
    this.router = new RequestRouter({ model: this.name, trackers: this.trackers, ref, o, counts: this.counts, events: this.events, metrics: this.metrics });
    this.caller = new BackendCaller({
      model: this.name, clock: o.clock, timeoutMs: o.timeoutMs, metrics: this.metrics, disposed: () => this.disposed, stopping: this.stopping.signal,
      onBreaker: (t, transition, now) => this.router.onBreaker(t, transition, now),
    });
    this.hedging = o.hedge ? new Hedging(o.hedge, o.clock, this.counts, this.metrics, this.caller, this.router) : undefined;
    this.canary = ref ? new Canary({ model: this.name, ref, o, counts: this.counts, router: this.router, caller: this.caller, events: this.events, metrics: this.metrics }) : undefined;
    this.router.reselect(o.clock.now());
  }

  /** The size of the backend chosen now. */
  get sizeBytes(): number | undefined {
    return this.router.current?.backend.sizeBytes;
  }

  /** Subscribes to 'switch', 'quarantine', 'breaker' or 'revalidate'; returns the unsubscribe function. */
  on<K extends keyof HybridEvents>(event: K, listener: (payload: HybridEvents[K]) => void): () => void {
    return this.events.on(event, listener);
  }

  /**
   * Answers a request (see the class comment for the route it takes). With `signal`, aborting it
   * rejects the request at once with FORGE_CANCELLED: the backend call in flight gets the abort (a
   * pool drops a queued run), no further backend is called, and the abandoned call counts against no
   * backend's health.
   */
  async predict(feeds: Feeds, options?: PredictOptions): Promise<Record<string, TensorLike>> {
    this.assertLive();
    const signal = options?.signal;
    if (signal?.aborted) throw requestCancelled(this.name, signal);
    const clock = this.o.clock;
    const start = clock.now();
    const request = ++this.counts.requests;
    this.router.tick(start);
    this.router.reselect(start);
    this.canary?.keep(feeds);
    const plan = this.router.plan();
    const errors: Attempt[] = [];
    const blame: RequestBlame = Object.assign([], { signal });
    let served: Served | undefined;
    if (plan.first) served = await this.attempt(plan, feeds, request, errors, blame);
    if (signal?.aborted) return this.abandon(signal, blame);
    if (!served) {
      served = await this.fallback(plan.first, feeds, errors, blame);
      if (served && plan.first) this.counts.fallbacks++;
    } else if (served.by !== plan.first && errors.length) {
      this.counts.fallbacks++;
    }
    // Quarantined while this call ran (another request's check caught it): the answer is no longer
    // taken on trust.
    if (served && !served.checked && served.by.quarantine) served = await this.discredited(served, feeds, request, errors, blame);
    // An answer holding NaN or infinity is checked whether the canary sampled it or not: an fp16
    // variant overflows on some inputs only, and such an answer must not go out unchecked.
    if (served && !served.checked && this.canary && served.by !== this.canary.ref && this.router.canCheck(served.by) && hasNonFinite(served.outputs)) {
      const verdict = await this.canary.confirm(served, feeds, request, blame);
      // The reference cannot say: the answer stands as it would without the check.
      if (verdict.status === 'fulfilled') served = verdict.value;
    }
    if (signal?.aborted) return this.abandon(signal, blame);
    this.caller.settleBlame(blame, served !== undefined);
    const ms = clock.now() - start;
    if (!served && this.disposed) {
      // Stopped by dispose(), as the error says (FORGE_CANCELLED): not a request every backend failed,
      // since the backends it did not reach were never tried; counted as a caller's abort is.
      this.counts.cancelled++;
      throw disposedRequest(this.name, errors);
    }
    if (!served) {
      this.counts.failed++;
      this.metrics?.request(false, ms / 1000);
      throw allFailed(this.name, errors, this.trackers);
    }
    this.counts.answer(ms);
    served.by.served++;
    this.metrics?.request(true, ms / 1000);
    return served.outputs;
  }

  /**
   * Checks a backend against the reference on fresh samples: `samples` feeds given, or the last
   * `samples` requests seen (default all kept, see canary.keepSamples). When every answer is within
   * tolerance and no request's canary check of the backend failed meanwhile, a quarantined backend is
   * released (and its breaker closed); otherwise it stays, or becomes, quarantined with the new evidence.
   */
  async revalidate(name: string, samples?: number | readonly Feeds[]): Promise<RevalidationReport> {
    this.assertLive();
    const t = this.byName.get(name);
    if (!t) throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `revalidate: no backend named '${name}' (backends: ${[...this.byName.keys()].join(', ')})`, { details: { backend: name } });
    const canary = this.canary;
    if (!canary) throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, 'revalidate needs a reference to compare with: create the HybridModel with { reference }', { details: { backend: name } });
    return canary.revalidate(t, samples);
  }

  /**
   * Warms every backend up (in turn, so they do not compete for the cores); failures are recorded, not
   * thrown. A warm-up is a call like the others in the counts (`calls`, and `successes` or `errors`,
   * route `warmup`), so that calls, successes, errors and the error rate agree; its duration is the
   * cold start when it is the backend's first call, and it is no latency sample (`meanMs`, the
   * percentiles and the chooser leave it out). A failed warm-up counts as a failure in the breaker's
   * window.
   */
  async warmup(): Promise<void> {
    for (const t of this.trackers) {
      // Disposed meanwhile: the backends left are disposed too.
      if (this.disposed) return;
      await this.caller.warmup(t);
    }
  }

  /**
   * Disposes every backend it was given (the reference too), then drops its metric gauges. A request
   * in flight finishes on the backend it is on when that backend's dispose() lets it (a runtime session
   * finishes its runs before it releases); it goes to no other backend after this (no fallback, no
   * canary check, no hedge): when its call fails, it rejects with FORGE_CANCELLED. A call still pending
   * once every backend is disposed can never be answered (a function that hangs, with no `timeoutMs`):
   * the request rejects with FORGE_CANCELLED rather than waiting for ever, and a call made with a
   * signal (the caller's, or a hedged one) gets the abort through it.
   */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const results = await Promise.allSettled(this.trackers.map((t) => t.backend.dispose()));
    this.stopping.abort();
    this.metrics?.close(this.trackers.map((t) => t.name));
    this.events.clear();
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [{ backend: this.trackers[i]?.name, error: r.reason as unknown }] : []));
    if (failed.length) {
      throw new ForgeError(ForgeErrorCode.RUNTIME, `HybridModel '${this.name}': disposing ${failed.map((f) => `'${f.backend}' failed (${errorMessage(f.error)})`).join(', ')}`, {
        cause: new AggregateError(failed.map((f) => f.error)),
        details: { backends: failed.map((f) => f.backend) },
      });
    }
  }

  stats(): HybridStats {
    const now = this.o.clock.now();
    this.router.tick(now);
    const backends: Record<string, BackendStats> = {};
    for (const t of this.trackers) backends[t.name] = t.snapshot(now, this.o.decisionWindow);
    return {
      name: this.name,
      policy: policyName(this.o.policy),
      reference: this.canary?.ref.name,
      selected: this.router.current?.name,
      switches: this.router.switches,
      ...this.counts.figures(),
      backends,
    };
  }

  /** A printable table: per backend its state, success rate, mean and p99 latency, speedup over the reference, drift. */
  summary(): string {
    return formatSummary(this.stats());
  }

  // ---------------------------------------------------------------------------------------------

  private assertLive(): void {
    if (this.disposed) throw new ForgeError(ForgeErrorCode.RUNTIME, `HybridModel '${this.name}' was disposed; create a new one`);
  }

  /** One call of the request to `t`; a failure is added to `errors`, and resolves undefined. */
  private async tryOn(t: BackendTracker, route: Route, feeds: Feeds, errors: Attempt[], blame: RequestBlame): Promise<Served | undefined> {
    try {
      return { outputs: await this.caller.call(t, route, feeds, { blame }), by: t };
    } catch (e) {
      errors.push({ backend: t.name, error: e });
      return undefined;
    }
  }

  /**
   * The first try of a request; with the canary, the reference runs after it and has the last word.
   * After, not beside: an in-process onnxruntime session runs on the main thread, so two "concurrent"
   * runs execute one after the other and the second's measured time would include the first's. Run in
   * turn, both latencies stay honest, at the price of a slower answer on the sampled share.
   */
  private async attempt(plan: Plan, feeds: Feeds, request: number, errors: Attempt[], blame: RequestBlame): Promise<Served | undefined> {
    const primary = plan.first as BackendTracker;
    const canary = this.canary;
    if (!plan.canary || !canary) {
      const hedging = this.hedging;
      const delay = hedging?.delay(primary);
      if (hedging && delay !== undefined) return hedging.run(primary, plan.route, feeds, delay, errors, blame);
      return this.tryOn(primary, plan.route, feeds, errors, blame);
    }
    const ref = canary.ref;
    const got = await settle(this.caller.call(primary, plan.route, feeds, { blame }));
    const want = await settle(this.caller.call(ref, 'canary', feeds, { blame, probe: plan.refProbe === true }));
    if (got.status === 'rejected') errors.push({ backend: primary.name, error: got.reason });
    if (want.status === 'rejected') errors.push({ backend: ref.name, error: want.reason });
    if (got.status === 'fulfilled' && want.status === 'fulfilled') return canary.judge(primary, got.value, want.value, request);
    if (got.status === 'fulfilled') return { outputs: got.value, by: primary };
    // The backend failed and the reference's answer is at hand: it answers, served or not otherwise.
    if (want.status === 'fulfilled') return { outputs: want.value, by: ref };
    return undefined;
  }

  /**
   * The request's remaining backends in fallback order, each tried once (those in `errors` have failed
   * it already); resolves undefined when none answers.
   */
  private async fallback(first: BackendTracker | undefined, feeds: Feeds, errors: Attempt[], blame: RequestBlame): Promise<Served | undefined> {
    for (const t of this.router.fallbackOrder(first)) {
      if (errors.some((e) => e.backend === t.name)) continue;
      const served = await this.tryOn(t, 'fallback', feeds, errors, blame);
      if (served) return served;
    }
    return undefined;
  }

  /**
   * An unchecked answer from a backend quarantined while its call ran. It is served only if the
   * reference confirms it (judged as a canary check: a contradicted one is replaced by the reference's
   * answer); when the reference cannot say, the request goes to the next backend in fallback order, and
   * the quarantined backend's answer is never served unvouched.
   */
  private async discredited(served: Served, feeds: Feeds, request: number, errors: Attempt[], blame: RequestBlame): Promise<Served | undefined> {
    const t = served.by;
    const canary = this.canary;
    if (canary && this.router.canCheck(t)) {
      const verdict = await canary.confirm(served, feeds, request, blame);
      if (verdict.status === 'fulfilled') return verdict.value;
      errors.push({ backend: canary.ref.name, error: verdict.reason });
    }
    errors.push({ backend: t.name, error: new ForgeError(ForgeErrorCode.RUNTIME, `backend '${t.name}' was quarantined while it ran this request, and no backend could confirm its answer`, { details: { backend: t.name } }) });
    const other = await this.fallback(t, feeds, errors, blame);
    if (other) this.counts.fallbacks++;
    return other;
  }

  /** Ends a request whose caller's signal aborted: counted as cancelled, its failed calls judged as unanswered. */
  private abandon(signal: AbortSignal, blame: RequestBlame): never {
    this.caller.settleBlame(blame, false);
    this.counts.cancelled++;
    throw requestCancelled(this.name, signal);
  }
}
