export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /** Failures within `windowMs` that open the circuit (default 5). */
  readonly failures: number;
  /** Length of the failure window (default 10 s, as opossum's rolling window). */
  readonly windowMs: number;
  /** Time an open circuit waits before one probe request may try the backend again (default 30 s). */
  readonly resetMs: number;
}

export const DEFAULT_BREAKER: BreakerOptions = { failures: 5, windowMs: 10_000, resetMs: 30_000 };

export interface BreakerTransition {
  readonly from: BreakerState;
  readonly to: BreakerState;
}

/**
 * closed → open after `failures` failures within `windowMs` → half-open once `resetMs` has passed →
 * one probe: its success closes the circuit, its failure opens it for another `resetMs`. A count in a
 * window rather than opossum's error percentage: a backend serving 1 % of traffic (explored, or a
 * fallback) sees too few calls for a percentage to mean anything, and N failures are N failures.
 */
export class CircuitBreaker {
  private current: BreakerState = 'closed';
  private failureTimes: number[] = [];
  private opened: number | undefined;
  private probing = false;
  private opens = 0;

  constructor(private readonly options: BreakerOptions) {}

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

  failuresInWindow(now: number): number {
    return this.failureTimes.filter((t) => t > now - this.options.windowMs).length;
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

  /** A call finished well. Only the probe closes a half-open circuit (calls started earlier do not). */
  recordSuccess(probe: boolean): BreakerTransition | undefined {
    if (this.current !== 'half-open' || !probe) return undefined;
    this.probing = false;
    this.failureTimes = [];
    return this.move('closed');
  }

  recordFailure(now: number, probe: boolean): BreakerTransition | undefined {
    if (this.current === 'half-open') {
      if (!probe) return undefined;
      this.probing = false;
      return this.open(now);
    }
    if (this.current === 'open') return undefined;
    this.failureTimes.push(now);
    this.failureTimes = this.failureTimes.filter((t) => t > now - this.options.windowMs).slice(-this.options.failures);
    return this.failureTimes.length >= this.options.failures ? this.open(now) : undefined;
  }

  /** Back to closed with no failures on record (after a revalidation). */
  reset(): BreakerTransition | undefined {
    this.failureTimes = [];
    this.probing = false;
    return this.current === 'closed' ? undefined : this.move('closed');
  }

  private open(now: number): BreakerTransition {
    this.opened = now;
    this.opens++;
    return this.move('open');
  }

  private move(to: BreakerState): BreakerTransition {
    const from = this.current;
    this.current = to;
    return { from, to };
  }
}
