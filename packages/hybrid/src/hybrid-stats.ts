import type { BackendStats } from './backend-tracker.js';
import { LatencyWindow } from './latency-window.js';

/** A plain snapshot of a HybridModel's figures (`stats()`). */
export interface HybridStats {
  readonly name: string;
  readonly policy: string;
  readonly reference: string | undefined;
  readonly selected: string | undefined;
  readonly switches: number;
  readonly requests: number;
  readonly answered: number;
  /** Requests that every backend failed. */
  readonly failed: number;
  /** Requests whose caller's signal aborted, or that dispose() stopped, before they were answered (neither answered nor failed). */
  readonly cancelled: number;
  /** Requests answered by another backend after the first one tried failed. */
  readonly fallbacks: number;
  /** Requests whose backend had not answered within the hedge delay, so a second backend got them too. */
  readonly hedges: number;
  /** Hedged requests answered by the second backend (the rest by the first, or by neither). */
  readonly hedgeWins: number;
  readonly explorations: number;
  readonly probes: number;
  readonly canaryChecks: number;
  /** Checks that failed: those requests were answered with the reference's output. */
  readonly canaryFailures: number;
  /** Of whole requests (fallbacks and canary included). */
  readonly meanMs: number | undefined;
  readonly p50Ms: number | undefined;
  readonly p99Ms: number | undefined;
  readonly backends: Readonly<Record<string, BackendStats>>;
}

/** The figures of requests (not of backend calls) that `stats()` reports. */
type RequestFigures = Omit<HybridStats, 'name' | 'policy' | 'reference' | 'selected' | 'switches' | 'backends'>;

/** What became of a HybridModel's requests: counts by outcome and route, and whole requests' latency. */
export class RequestCounts {
  requests = 0;
  answered = 0;
  failed = 0;
  cancelled = 0;
  fallbacks = 0;
  hedges = 0;
  hedgeWins = 0;
  explorations = 0;
  probes = 0;
  canaryChecks = 0;
  canaryFailures = 0;
  private readonly whole: LatencyWindow;
  private wholeSum = 0;

  constructor(window: number) {
    this.whole = new LatencyWindow(window);
  }

  /** A request answered after `ms`. */
  answer(ms: number): void {
    this.answered++;
    this.whole.add(ms);
    this.wholeSum += ms;
  }

  figures(): RequestFigures {
    return {
      requests: this.requests,
      answered: this.answered,
      failed: this.failed,
      cancelled: this.cancelled,
      fallbacks: this.fallbacks,
      hedges: this.hedges,
      hedgeWins: this.hedgeWins,
      explorations: this.explorations,
      probes: this.probes,
      canaryChecks: this.canaryChecks,
      canaryFailures: this.canaryFailures,
      meanMs: this.answered ? this.wholeSum / this.answered : undefined,
      p50Ms: this.whole.quantile(0.5),
      p99Ms: this.whole.quantile(0.99),
    };
  }
}
