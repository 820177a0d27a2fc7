export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /** Share of failed calls within the rolling window that opens the circuit (default 0.5: opossum's 50 %). */
  readonly errorRate: number;
  /** Calls within the window before the error rate counts at all (default 10; opossum's volumeThreshold). */
  readonly minRequests: number;
  /**
   * Failures within the window needed as well (default 1). Given without `errorRate` and
   * `minRequests`, it keeps the rule of earlier versions: that many failures within the window open the
   * circuit whatever share of the calls they are (see `resolveBreaker`).
   */
  readonly failures: number;
  /** Length of the rolling window (default 10 s, as opossum's rollingCountTimeout). */
  readonly windowMs: number;
  /** Buckets the window is counted in; it slides one bucket at a time (default 10, as opossum). */
  readonly buckets: number;
  /** Time an open circuit waits before one probe request may try the backend again (default 30 s). */
  readonly resetMs: number;
}

export const DEFAULT_BREAKER: BreakerOptions = { errorRate: 0.5, minRequests: 10, failures: 1, windowMs: 10_000, buckets: 10, resetMs: 30_000 };

export interface BreakerTransition {
  readonly from: BreakerState;
  readonly to: BreakerState;
}

/** Calls and failures within the rolling window. */
export interface WindowCounts {
  readonly calls: number;
  readonly failures: number;
  /** failures / calls, 0 with no calls. */
  readonly errorRate: number;
}

interface Bucket {
  /** floor(time / bucket length): which slice of time this bucket counts. */
  index: number;
  calls: number;
  failures: number;
}

/**
 * closed → open when, within the rolling window, at least `minRequests` calls were made, at least
 * `failures` of them failed, and the failed share reached `errorRate` → half-open once `resetMs` has
 * passed → one probe: its success closes the circuit, its failure opens it for another `resetMs`.
 * That is opossum's model (error percentage over a bucketed rolling window, with a volume threshold):
 * a rate keeps one failed call among thousands from taking a busy backend out, and the volume
 * threshold keeps two failures out of three calls from doing it on a quiet one.
 *
 * A backend that takes a small share of the traffic (an explored one, a fallback) may stay below
 * `minRequests` in every window: it is then never opened, and each of its failures costs its request a
 * fallback, not an error. Lower `minRequests` (or use the count rule) where that matters more.
 */
export class CircuitBreaker {
  private current: BreakerState = 'closed';
  private ring: Bucket[];
  private readonly bucketMs: number;
  private opened: number | undefined;
  private probing = false;
  private opens = 0;

  constructor(private readonly options: BreakerOptions) {
    const buckets = Math.max(1, Math.floor(options.buckets));
    this.bucketMs = options.windowMs / buckets;
    this.ring = Array.from({ length: buckets }, () => ({ index: Number.NEGATIVE_INFINITY, calls: 0, failures: 0 }));
  }

  get state(): BreakerState {
    return this.current;
  }

  get openedAt(): number | undefined {
    return this.opened;
  }

  get timesOpened(): number {
    return this.opens;
  }

  /** When an open circuit lets a probe through. */
  get nextProbeAt(): number | undefined {
    return this.current === 'open' && this.opened !== undefined ? this.opened + this.options.resetMs : undefined;
  }

  /** Half-open and no probe running: the next request should probe this backend. */
  get awaitingProbe(): boolean {
    return this.current === 'half-open' && !this.probing;
  }

  /** Calls, failures and their ratio within the window that ends at `now`. */
  window(now: number): WindowCounts {
    const newest = this.bucketIndex(now);
    let calls = 0;
    let failures = 0;
    for (const b of this.ring) {
      if (b.index > newest - this.ring.length && b.index <= newest) {
        calls += b.calls;
        failures += b.failures;
      }
    }
    return { calls, failures, errorRate: calls ? failures / calls : 0 };
  }

  failuresInWindow(now: number): number {
    return this.window(now).failures;
  }

  /** Moves an open circuit to half-open once its reset time has passed. */
  tick(now: number): BreakerTransition | undefined {
    const at = this.nextProbeAt;
    if (at === undefined || now < at) return undefined;
    return this.move('half-open');
  }

  beginProbe(): void {
    this.probing = true;
  }

  /** The probe ended without telling anything about the backend (cancelled, or the request's own fault): the next request probes. */
  cancelProbe(): void {
    if (this.current === 'half-open') this.probing = false;
  }

  /**
   * A call finished well. While closed it counts in the window; only the probe closes a half-open
   * circuit (calls started before it opened do not).
   */
  recordSuccess(now: number, probe: boolean): BreakerTransition | undefined {
    if (this.current === 'closed') {
      this.bucket(now).calls++;
      return undefined;
    }
    if (this.current !== 'half-open' || !probe) return undefined;
    this.probing = false;
    this.clear();
    return this.move('closed');
  }

  recordFailure(now: number, probe: boolean): BreakerTransition | undefined {
    if (this.current === 'half-open') {
      if (!probe) return undefined;
      this.probing = false;
      return this.open(now);
    }
    if (this.current === 'open') return undefined;
    const b = this.bucket(now);
    b.calls++;
    b.failures++;
    const w = this.window(now);
    const o = this.options;
    return w.calls >= o.minRequests && w.failures >= o.failures && w.errorRate >= o.errorRate ? this.open(now) : undefined;
  }

  /** Back to closed with nothing on record (after a revalidation). */
  reset(): BreakerTransition | undefined {
    this.clear();
    this.probing = false;
    return this.current === 'closed' ? undefined : this.move('closed');
  }

  private bucketIndex(now: number): number {
    return Math.floor(now / this.bucketMs);
  }

  /** The bucket that counts `now`, recycled from the oldest slot when its time has come. */
  private bucket(now: number): Bucket {
    const index = this.bucketIndex(now);
    const slot = ((index % this.ring.length) + this.ring.length) % this.ring.length;
    const b = this.ring[slot] as Bucket;
    if (b.index !== index) {
      b.index = index;
      b.calls = 0;
      b.failures = 0;
    }
    return b;
  }

  private clear(): void {
    for (const b of this.ring) {
      b.index = Number.NEGATIVE_INFINITY;
      b.calls = 0;
      b.failures = 0;
    }
  }

  private open(now: number): BreakerTransition {
    this.opened = now;
    this.opens++;
    // The window keeps what opened the circuit (statistics and the breaker event show it); nothing is
    // counted while open, and a probe that closes the circuit clears it.
    return this.move('open');
  }

  private move(to: BreakerState): BreakerTransition {
    const from = this.current;
    this.current = to;
    return { from, to };
  }
}
