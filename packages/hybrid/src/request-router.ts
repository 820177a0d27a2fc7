import type { Emitter } from '@onnx-forge/runtime';
import type { BackendTracker, QuarantineEvidence, Route } from './backend-tracker.js';
import { decideSwitch, rankBackends } from './choose-backend.js';
import type { BreakerTransition } from './circuit-breaker.js';
import type { CanaryCheck } from './compare-outputs.js';
import type { HybridEvents } from './hybrid-events.js';
import type { HybridMetrics } from './hybrid-metrics.js';
import type { ResolvedOptions } from './hybrid-options.js';
import type { RequestCounts } from './hybrid-stats.js';

/** Where a request goes first, and whether the reference checks the answer. */
export interface Plan {
  readonly first: BackendTracker | undefined;
  readonly route: Route;
  readonly canary: boolean;
  /** The canary's reference call is the probe of a reference kept for checks only (its circuit is half-open). */
  readonly refProbe?: boolean;
}

export interface RouterSettings {
  /** The HybridModel's name, for events. */
  readonly model: string;
  readonly trackers: readonly BackendTracker[];
  readonly ref: BackendTracker | undefined;
  readonly o: ResolvedOptions;
  readonly counts: RequestCounts;
  readonly events: Emitter<HybridEvents>;
  readonly metrics: HybridMetrics | undefined;
}

/**
 * Where a HybridModel's requests go: the backend chosen now, moved by the policy as the figures,
 * the breakers and the canary's quarantines change (each move told: 'switch', 'breaker',
 * 'quarantine'); the probes, calibrations and explorations that keep every backend's figures fresh;
 * the requests the reference checks; and the order in which a failed request falls back.
 */
export class RequestRouter {
  private chosen: BackendTracker | undefined;
  private everSelected = false;
  private lastSwitchAt = Number.NEGATIVE_INFINITY;
  private moves = 0;

  constructor(private readonly s: RouterSettings) {}

  /** The backend chosen now. */
  get current(): BackendTracker | undefined {
    return this.chosen;
  }

  /** Moves of the choice after the first. */
  get switches(): number {
    return this.moves;
  }

  /** Backends that may take ordinary traffic now. */
  candidates(): BackendTracker[] {
    return this.s.trackers.filter((t) => t.available);
  }

  private get canaryOn(): boolean {
    return this.s.o.canary.enabled && this.s.ref !== undefined;
  }

  /** Whether a call to `t` can be checked against the reference now. */
  canCheck(t: BackendTracker): boolean {
    const ref = this.s.ref;
    return this.canaryOn && ref !== undefined && t !== ref && ref.breaker.state === 'closed';
  }

  /**
   * Where this request goes first: a half-open backend's probe, else a backend still being measured,
   * else (with the exploration share) the backend measured longest ago, else the choice. The reference
   * is not explored or calibrated while the canary runs: every check measures it already.
   */
  plan(): Plan {
    const plan = this.choose();
    const ref = this.s.ref;
    // A reference kept for checks only is never a request's first call, so its half-open circuit is
    // probed through the next canary check instead; without that, one outage of the reference would
    // leave it half-open and the canary off for good.
    if (ref && !ref.servable && this.canaryOn && plan.first && plan.first !== ref && ref.breaker.awaitingProbe) {
      ref.breaker.beginProbe();
      this.s.counts.probes++;
      return { ...plan, canary: true, refProbe: true };
    }
    return plan;
  }

  private choose(): Plan {
    const { o, counts } = this.s;
    const probe = this.s.trackers.find((t) => t.servable && !t.quarantine && t.breaker.awaitingProbe);
    if (probe) {
      probe.breaker.beginProbe();
      counts.probes++;
      return { first: probe, route: 'probe', canary: this.canCheck(probe) };
    }
    const measuredByCanary = (t: BackendTracker) => t === this.s.ref && this.canaryOn;
    const candidates = this.candidates();
    const staticPolicy = typeof o.policy === 'object' || o.policy === 'size';
    if (!staticPolicy) {
      const unmeasured = candidates.find((t) => t.timed < o.minSamples && t.calibrating === 0 && !measuredByCanary(t));
      if (unmeasured) return { first: unmeasured, route: 'calibration', canary: this.canCheck(unmeasured) };
    }
    const current = this.chosen;
    if (o.exploration > 0 && current) {
      const others = candidates.filter((t) => t !== current && !measuredByCanary(t));
      if (others.length && o.random() < o.exploration) {
        const stalest = others.reduce((a, b) => (b.lastSampleAt < a.lastSampleAt ? b : a));
        counts.explorations++;
        return { first: stalest, route: 'exploration', canary: this.canCheck(stalest) };
      }
    }
    return { first: current, route: 'selected', canary: current !== undefined && this.canCheck(current) && o.random() < o.canary.sampleRate };
  }

  /**
   * Healthy backends other than `first`, in the order they should take a failed request. The latency
   * policies order them by peak-EWMA, as Finagle's balancer picks a node: a fallback is a choice for this
   * one request, made in trouble, where a backend that just spiked is the worse bet whatever its long-run
   * mean. The other policies keep their own order (size, accuracy, the order given).
   */
  fallbackOrder(first: BackendTracker | undefined): BackendTracker[] {
    const rest = this.candidates().filter((t) => t !== first);
    const p = this.s.o.policy;
    if (p !== 'auto' && p !== 'speed') return rankBackends(rest, this.s.o);
    const peak = (t: BackendTracker) => t.ewma.get() ?? Number.POSITIVE_INFINITY;
    return rest.sort((a, b) => peak(a) - peak(b) || a.index - b.index);
  }

  /** Lets every breaker's time pass (an open circuit's reset time). */
  tick(now: number): void {
    for (const t of this.s.trackers) this.onBreaker(t, t.breaker.tick(now), now);
  }

  /** A breaker moved (undefined: it did not): told, and the choice made anew when it concerns it. */
  onBreaker(t: BackendTracker, transition: BreakerTransition | undefined, now: number): void {
    if (!transition) return;
    this.s.metrics?.breaker(t.name, transition.to);
    const w = t.breaker.window(now);
    this.s.events.emit('breaker', {
      model: this.s.model, backend: t.name, from: transition.from, to: transition.to, at: now,
      callsInWindow: w.calls, failuresInWindow: w.failures, errorRateInWindow: w.errorRate, lastError: t.lastError?.message,
    });
    if (t === this.chosen || transition.to === 'closed') this.reselect(now);
  }

  /** Takes `t` out of traffic with the failed `check` as evidence (once: until a revalidation releases it). */
  quarantine(t: BackendTracker, check: CanaryCheck, now: number, request = this.s.counts.requests): void {
    if (t.quarantine) return;
    const evidence: QuarantineEvidence = Object.freeze({ backend: t.name, at: now, request, reasons: check.failures, check, failedChecks: t.failedSinceValidation });
    t.quarantine = evidence;
    this.s.metrics?.quarantine(t.name, true);
    this.s.events.emit('quarantine', { model: this.s.model, ...evidence });
    this.reselect(now);
  }

  /** Moves the choice when the policy says so (see decideSwitch), and tells it. */
  reselect(now: number): void {
    const { o, metrics } = this.s;
    const ranking = rankBackends(this.candidates(), o);
    const decision = decideSwitch(this.chosen, ranking, now, this.lastSwitchAt, o);
    if (!decision || decision.to === this.chosen) return;
    const from = this.chosen;
    this.chosen = decision.to;
    if (this.everSelected) {
      this.moves++;
      // A move for speed made while a backend is still being measured (calibrated in turn, the last
      // one has not had its calls yet) is no settled choice: were the dwell time to start from it, the
      // choice would be held for that long away from the backend measured next, however much faster.
      const provisional = (decision.reason === 'faster' || decision.reason === 'p99-target') && ranking.some((t) => t.timed < o.minSamples);
      if (!provisional) this.lastSwitchAt = now;
    }
    this.everSelected ||= decision.to !== undefined;
    metrics?.selection(from?.name, decision.to?.name, decision.reason);
    const median = (t: BackendTracker | undefined) => (t && t.timed ? t.recent(o.decisionWindow).median : undefined);
    this.s.events.emit('switch', {
      model: this.s.model, from: from?.name, to: decision.to?.name, reason: decision.reason, at: now, request: this.s.counts.requests,
      fromMedianMs: median(from), toMedianMs: median(decision.to),
    });
  }
}
