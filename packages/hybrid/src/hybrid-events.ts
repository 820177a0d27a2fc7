import type { QuarantineEvidence } from './backend-tracker.js';
import type { SwitchReason } from './choose-backend.js';
import type { BreakerState } from './circuit-breaker.js';
import type { CanaryCheck } from './compare-outputs.js';

export interface SwitchEvent {
  readonly model: string;
  readonly from: string | undefined;
  readonly to: string | undefined;
  readonly reason: SwitchReason;
  /** Clock time and number of the request (1-based) that saw the move. */
  readonly at: number;
  readonly request: number;
  /** Recent medians of both, as the chooser compared them (`runP50Ms`: own times for backends that `sharesThread` or give `runsAtOnce`). */
  readonly fromMedianMs: number | undefined;
  readonly toMedianMs: number | undefined;
}

export interface QuarantineEvent extends QuarantineEvidence {
  readonly model: string;
}

export interface BreakerEvent {
  readonly model: string;
  readonly backend: string;
  readonly from: BreakerState;
  readonly to: BreakerState;
  readonly at: number;
  /** Calls and failures within the breaker's rolling window, and their ratio, when it moved. */
  readonly callsInWindow: number;
  readonly failuresInWindow: number;
  readonly errorRateInWindow: number;
  readonly lastError: string | undefined;
}

export interface RevalidationReport {
  readonly model: string;
  readonly backend: string;
  readonly passed: boolean;
  readonly samples: number;
  readonly checks: readonly CanaryCheck[];
  /** Calls that failed during the revalidation (of the backend or of the reference). */
  readonly errors: readonly string[];
  readonly at: number;
}

/** What a HybridModel tells its listeners (`on(event, listener)`), by event name. */
export interface HybridEvents {
  switch: SwitchEvent;
  quarantine: QuarantineEvent;
  breaker: BreakerEvent;
  revalidate: RevalidationReport;
}
