import { ForgeError, ForgeErrorCode, errorMessage } from '@onnx-forge/core';
import type { Emitter, Feeds, TensorLike } from '@onnx-forge/runtime';
import type { BackendCaller, RequestBlame } from './backend-caller.js';
import type { BackendTracker } from './backend-tracker.js';
import { type CanaryCheck, compareOutputs } from './compare-outputs.js';
import type { HybridEvents, RevalidationReport } from './hybrid-events.js';
import type { HybridMetrics } from './hybrid-metrics.js';
import type { ResolvedOptions } from './hybrid-options.js';
import type { RequestCounts } from './hybrid-stats.js';
import type { RequestRouter } from './request-router.js';
import { settle } from './settle.js';

/** A request's answer, the backend it came from, and whether the reference has checked it. */
export interface Served {
  readonly outputs: Record<string, TensorLike>;
  readonly by: BackendTracker;
  /** Compared with the reference's answer to this request already. */
  readonly checked?: boolean;
}

export interface CanarySettings {
  /** The HybridModel's name, for events. */
  readonly model: string;
  readonly ref: BackendTracker;
  readonly o: ResolvedOptions;
  readonly counts: RequestCounts;
  readonly router: RequestRouter;
  readonly caller: BackendCaller;
  readonly events: Emitter<HybridEvents>;
  readonly metrics: HybridMetrics | undefined;
}

/**
 * The checks of a HybridModel's answers against its reference: a request's answer judged beside the
 * reference's (a failed check quarantines the backend and the request gets the reference's answer),
 * a backend revalidated on recent requests, and those requests' feeds kept for it.
 */
export class Canary {
  private readonly kept: Feeds[] = [];

  constructor(private readonly s: CanarySettings) {}

  /** The backend whose answers are right by definition. */
  get ref(): BackendTracker {
    return this.s.ref;
  }

  /** Keeps a request's feeds for `revalidate` (the last canary.keepSamples). */
  keep(feeds: Feeds): void {
    const n = this.s.o.canary.keepSamples;
    if (n === 0) return;
    this.kept.push(feeds);
    if (this.kept.length > n) this.kept.shift();
  }

  /**
   * A canary verdict: `got` (from `t`) against the reference's `want` for the same request. A failed
   * check counts toward quarantine, and the request gets the reference's answer: never hand out an
   * answer the reference has just contradicted.
   */
  judge(t: BackendTracker, got: Record<string, TensorLike>, want: Record<string, TensorLike>, request: number): Served {
    const { o, counts } = this.s;
    const check = compareOutputs(want, got, o.tolerance);
    counts.canaryChecks++;
    t.recordCheck(check);
    if (check.passed) return { outputs: got, by: t, checked: true };
    counts.canaryFailures++;
    if (t.failedSinceValidation >= o.canary.quarantineAfter) this.s.router.quarantine(t, check, o.clock.now(), request);
    return { outputs: want, by: this.s.ref, checked: true };
  }

  /** Runs the reference on a request answered unchecked and judges the answer; rejected is the reference's failure. */
  async confirm(served: Served, feeds: Feeds, request: number, blame: RequestBlame): Promise<PromiseSettledResult<Served>> {
    const want = await settle(this.s.caller.call(this.s.ref, 'canary', feeds, { blame }));
    if (want.status === 'rejected') return want;
    return { status: 'fulfilled', value: this.judge(served.by, served.outputs, want.value, request) };
  }

  /** `HybridModel.revalidate` of `t`: its answers to the samples against the reference's, and the verdict. */
  async revalidate(t: BackendTracker, samples?: number | readonly Feeds[]): Promise<RevalidationReport> {
    const { ref, o, router, caller } = this.s;
    const name = t.name;
    if (t === ref) throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `revalidate: '${name}' is the reference, the standard the others are checked against`, { details: { backend: name } });
    let list: readonly Feeds[];
    if (Array.isArray(samples)) {
      list = samples;
    } else {
      const n = (samples as number | undefined) ?? Math.max(1, this.kept.length);
      if (!Number.isInteger(n) || n < 1) throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `revalidate: samples must be a positive integer or a list of feeds, got ${JSON.stringify(samples)}`, { details: { option: 'samples' } });
      list = this.kept.slice(-n);
    }
    if (list.length === 0) {
      throw new ForgeError(ForgeErrorCode.BAD_SAMPLES, `revalidate '${name}': no recent requests to check it on; pass feeds: revalidate('${name}', [feeds, ...])`, { details: { backend: name } });
    }
    const checks: CanaryCheck[] = [];
    const errors: string[] = [];
    // Canary checks of requests answered while the revalidation runs count too: a failure among them is
    // fresh evidence against the backend, which a pass on the samples must not wipe out.
    const failedBefore = t.failedChecks;
    for (const feeds of list) {
      const got = await settle(caller.call(t, 'revalidation', feeds));
      const want = await settle(caller.call(ref, 'revalidation', feeds));
      if (want.status === 'rejected') errors.push(`reference '${ref.name}': ${errorMessage(want.reason)}`);
      if (got.status === 'rejected') errors.push(`'${name}': ${errorMessage(got.reason)}`);
      if (got.status === 'fulfilled' && want.status === 'fulfilled') {
        const check = compareOutputs(want.value, got.value, o.tolerance);
        t.recordCheck(check);
        checks.push(check);
      }
    }
    const failedMeanwhile = t.failedChecks - failedBefore - checks.filter((c) => !c.passed).length;
    if (failedMeanwhile > 0) errors.push(`'${name}' failed ${failedMeanwhile} canary check${failedMeanwhile === 1 ? '' : 's'} on requests answered while it was revalidated`);
    const now = o.clock.now();
    const passed = errors.length === 0 && checks.length === list.length && checks.every((c) => c.passed);
    if (passed) {
      const was = t.quarantine !== undefined;
      t.quarantine = undefined;
      t.failedSinceValidation = 0;
      router.onBreaker(t, t.breaker.reset(), now);
      if (was) this.s.metrics?.quarantine(t.name, false);
    } else {
      const failedCheck = checks.find((c) => !c.passed);
      if (failedCheck) router.quarantine(t, failedCheck, now);
    }
    const report: RevalidationReport = { model: this.s.model, backend: name, passed, samples: list.length, checks, errors, at: now };
    this.s.events.emit('revalidate', report);
    router.reselect(now);
    return report;
  }
}
