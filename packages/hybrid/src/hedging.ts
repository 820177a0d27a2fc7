import type { Clock, Feeds, TensorLike, TimerHandle } from '@onnx-forge/runtime';
import type { BackendCaller, RequestBlame } from './backend-caller.js';
import type { BackendTracker, Route } from './backend-tracker.js';
import type { HybridMetrics } from './hybrid-metrics.js';
import type { ResolvedOptions } from './hybrid-options.js';
import type { RequestCounts } from './hybrid-stats.js';
import type { Attempt } from './request-errors.js';
import type { RequestRouter } from './request-router.js';

type HedgeSettings = NonNullable<ResolvedOptions['hedge']>;

/** A request's answer and the backend that gave it. */
interface Answer {
  readonly outputs: Record<string, TensorLike>;
  readonly by: BackendTracker;
}

/**
 * Whether a request waiting on `primary` may also go to `t`: not when both run on this thread (two
 * in-process sessions), where the second call would only queue behind the first and every run ahead
 * of it, adding load and never an earlier answer.
 */
function canHedgeTo(primary: BackendTracker, t: BackendTracker): boolean {
  return t !== primary && !(primary.backend.sharesThread === true && t.backend.sharesThread === true);
}

/**
 * Hedged requests ("The Tail at Scale"): a request whose first backend has not answered after its
 * usual latency also goes to the next backend in fallback order, within a budget of requests.
 */
export class Hedging {
  constructor(
    private readonly h: HedgeSettings,
    private readonly clock: Clock,
    private readonly counts: RequestCounts,
    private readonly metrics: HybridMetrics | undefined,
    private readonly caller: BackendCaller,
    private readonly router: RequestRouter,
  ) {}

  /**
   * How long the first call of a request may take before it is hedged, or undefined for no hedge:
   * the first backend's p95 not yet trusted, or no servable backend besides it.
   */
  delay(primary: BackendTracker): number | undefined {
    const h = this.h;
    if (!this.router.candidates().some((t) => canHedgeTo(primary, t))) return undefined;
    if (h.after !== 'p95') return h.after;
    return primary.timed >= h.minSamples ? primary.window.quantile(0.95) : undefined;
  }

  /**
   * The first call of a request, and after `delay` (if it has not answered and the hedge budget
   * allows) the same request on the next backend in fallback order; the first answer wins and the
   * other call is aborted (hedge.cancel) or left to finish unheeded. Both calls are recorded in their
   * backends' figures as they end, so the slow one's latency still shows in its statistics unless it
   * was cancelled. Resolves undefined when every call made failed (the caller falls back further).
   */
  run(primary: BackendTracker, route: Route, feeds: Feeds, delay: number, errors: Attempt[], blame: RequestBlame): Promise<Answer | undefined> {
    const { h, clock, counts } = this;
    return new Promise((resolve) => {
      let settled = false;
      let running = 0;
      let timer: TimerHandle | undefined;
      let second: BackendTracker | undefined;
      const controllers = new Map<BackendTracker, AbortController>();
      const finish = (served: Answer | undefined) => {
        settled = true;
        if (timer !== undefined) clock.clearTimeout(timer);
        if (second) {
          const outcome = !served ? 'failed' : served.by === second ? 'won' : 'lost';
          if (outcome === 'won') counts.hedgeWins++;
          this.metrics?.hedge(outcome);
        }
        if (h.cancel) for (const [t, c] of controllers) if (t !== served?.by) c.abort();
        resolve(served);
      };
      const launch = (t: BackendTracker, r: Route) => {
        const controller = new AbortController();
        controllers.set(t, controller);
        running++;
        this.caller.call(t, r, feeds, { signal: controller.signal, blame }).then(
          (outputs) => {
            running--;
            if (!settled) finish({ outputs, by: t });
          },
          (error: unknown) => {
            running--;
            if (settled) return;
            errors.push({ backend: t.name, error });
            // A failure before the hedge went out ends the attempt: the request falls back as usual.
            if (running === 0) finish(undefined);
          },
        );
      };
      launch(primary, route);
      timer = clock.setTimeout(() => {
        timer = undefined;
        if (settled || blame.signal?.aborted || counts.hedges + 1 > h.maxShare * counts.requests) return;
        const partner = this.router.fallbackOrder(primary).find((t) => canHedgeTo(primary, t));
        if (!partner) return;
        second = partner;
        counts.hedges++;
        launch(partner, 'hedge');
      }, delay);
    });
  }
}
