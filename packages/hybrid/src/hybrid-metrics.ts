import { ForgeError, ForgeErrorCode } from '@onnx-forge/core';
import { Counter, Gauge, Histogram, type Registry, register as defaultRegistry } from 'prom-client';
import type { BreakerState } from './circuit-breaker.js';
import type { MetricsOptions } from './hybrid-options.js';

/** Default latency buckets, in seconds: 0.5 ms to 10 s. */
export const LATENCY_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const P = 'onnx_forge_hybrid_';

interface MetricSet {
  readonly requests: Counter<'model' | 'outcome'>;
  readonly requestSeconds: Histogram<'model' | 'outcome'>;
  readonly calls: Counter<'model' | 'backend' | 'route'>;
  readonly errors: Counter<'model' | 'backend' | 'code'>;
  readonly callSeconds: Histogram<'model' | 'backend'>;
  readonly selections: Counter<'model' | 'backend' | 'reason'>;
  readonly quarantines: Counter<'model' | 'backend'>;
  readonly breakerState: Gauge<'model' | 'backend'>;
  readonly quarantined: Gauge<'model' | 'backend'>;
  readonly selected: Gauge<'model' | 'backend'>;
  readonly hedges: Counter<'model' | 'outcome'>;
}

// Per registry, the names of the models reporting to it. A WeakMap holds no registry alive, and
// nothing is registered in any registry until a HybridModel asks for metrics.
const modelNames = new WeakMap<Registry, Set<string>>();

/**
 * The metric registered under `name`, or a new one. Reusing what is already there lets two copies of
 * this package (or two HybridModels) share a registry without prom-client's "already registered" error.
 */
function metric<M>(registry: Registry, name: string, kind: new (config: never) => M, make: () => M): M {
  const existing = registry.getSingleMetric(name);
  if (existing === undefined) return make();
  if (!(existing instanceof kind)) {
    throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `metrics: '${name}' is already registered in this registry as another kind of metric`, { details: { metric: name } });
  }
  return existing as M;
}

function createSet(registry: Registry, buckets: readonly number[]): MetricSet {
  const registers = [registry];
  return {
    requests: metric(registry, `${P}requests_total`, Counter, () => new Counter({ name: `${P}requests_total`, help: 'Requests to a hybrid model, by outcome (ok, error)', labelNames: ['model', 'outcome'], registers })),
    requestSeconds: metric(registry, `${P}request_seconds`, Histogram, () => new Histogram({ name: `${P}request_seconds`, help: 'Time to answer a request to a hybrid model (outcome ok), or until every backend had failed it (outcome error), fallbacks and canary included', labelNames: ['model', 'outcome'], buckets: [...buckets], registers })),
    calls: metric(registry, `${P}backend_calls_total`, Counter, () => new Counter({ name: `${P}backend_calls_total`, help: 'Calls to a backend, by why it was called (selected, exploration, probe, calibration, fallback, canary, revalidation, warmup)', labelNames: ['model', 'backend', 'route'], registers })),
    errors: metric(registry, `${P}backend_errors_total`, Counter, () => new Counter({ name: `${P}backend_errors_total`, help: 'Failed backend calls, by error code', labelNames: ['model', 'backend', 'code'], registers })),
    callSeconds: metric(registry, `${P}backend_call_seconds`, Histogram, () => new Histogram({ name: `${P}backend_call_seconds`, help: 'Duration of successful backend calls', labelNames: ['model', 'backend'], buckets: [...buckets], registers })),
    selections: metric(registry, `${P}selections_total`, Counter, () => new Counter({ name: `${P}selections_total`, help: 'Times a backend became the choice, by reason (initial, unavailable, faster, p99-target, policy)', labelNames: ['model', 'backend', 'reason'], registers })),
    quarantines: metric(registry, `${P}quarantines_total`, Counter, () => new Counter({ name: `${P}quarantines_total`, help: 'Times the accuracy canary quarantined a backend', labelNames: ['model', 'backend'], registers })),
    breakerState: metric(registry, `${P}breaker_state`, Gauge, () => new Gauge({ name: `${P}breaker_state`, help: 'Circuit breaker of a backend: 0 closed, 1 half-open, 2 open', labelNames: ['model', 'backend'], registers })),
    quarantined: metric(registry, `${P}quarantined`, Gauge, () => new Gauge({ name: `${P}quarantined`, help: '1 while the backend is quarantined', labelNames: ['model', 'backend'], registers })),
    hedges: metric(registry, `${P}hedges_total`, Counter, () => new Counter({ name: `${P}hedges_total`, help: 'Hedged requests, by outcome (won: the second backend answered first; lost: the first did; failed: neither answered)', labelNames: ['model', 'outcome'], registers })),
    selected: metric(registry, `${P}selected`, Gauge, () => new Gauge({ name: `${P}selected`, help: '1 for the backend currently chosen', labelNames: ['model', 'backend'], registers })),
  };
}

const BREAKER_VALUE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };

/** Distinct error codes of one model with a series of their own; the rest are OTHER. */
const MAX_CODES = 16;
/** onnx-forge's own codes, a fixed set: always a series of their own. */
const FORGE_CODES = new Set<string>(Object.values(ForgeErrorCode));
/** What an error code looks like (FORGE_TIMEOUT, ECONNRESET, ERR_INVALID_ARG_TYPE); anything else is OTHER. */
const CODE_SHAPE = /^[A-Z][A-Z0-9_]{0,47}$/;

/** The metrics of one HybridModel: every series carries its `model` label. */
export class HybridMetrics {
  private readonly set: MetricSet;
  private readonly names: Set<string>;
  /** Error codes given a series of their own (see codeLabel). */
  private readonly codes = new Set<string>();
  /** After close(), a request still finishing must not set the gauges again (a new model may own the name). */
  private closed = false;

  constructor(options: MetricsOptions, private readonly model: string, backends: readonly string[]) {
    const registry = options.registry === 'default' ? defaultRegistry : options.registry;
    if (typeof registry !== 'object' || registry === null || typeof (registry as Registry).getSingleMetric !== 'function') {
      throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, "metrics.registry must be a prom-client Registry or 'default'", { details: { option: 'metrics.registry' } });
    }
    let names = modelNames.get(registry);
    if (!names) modelNames.set(registry, (names = new Set()));
    if (names.has(model)) {
      throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `metrics: a HybridModel named '${model}' already reports to this registry; give each model its own name (option name)`, { details: { option: 'name', model } });
    }
    // Looked up anew each time: the registry may have been cleared since the last model registered.
    this.set = createSet(registry, options.buckets ?? LATENCY_BUCKETS);
    names.add(model);
    this.names = names;
    for (const backend of backends) {
      this.set.breakerState.set({ model, backend }, 0);
      this.set.quarantined.set({ model, backend }, 0);
      this.set.selected.set({ model, backend }, 0);
    }
  }

  request(ok: boolean, seconds: number): void {
    const outcome = ok ? 'ok' : 'error';
    this.set.requests.inc({ model: this.model, outcome });
    // By outcome, as requests_total: a request that failed fast must not pull the answer times down.
    this.set.requestSeconds.observe({ model: this.model, outcome }, seconds);
  }

  call(backend: string, route: string): void {
    this.set.calls.inc({ model: this.model, backend, route });
  }

  success(backend: string, seconds: number): void {
    this.set.callSeconds.observe({ model: this.model, backend }, seconds);
  }

  error(backend: string, code: string): void {
    this.set.errors.inc({ model: this.model, backend, code: this.codeLabel(code) });
  }

  /**
   * The error code as a label value, from a bounded set: every series is kept by Prometheus for good,
   * and a backend's errors may carry any `code` (a request id or a message in it, from an HTTP client
   * or a user's function), which would make a new series per request. onnx-forge's codes and the
   * first MAX_CODES other codes of this model that look like codes are kept, the rest counted as OTHER.
   */
  private codeLabel(code: string): string {
    if (this.codes.has(code) || FORGE_CODES.has(code)) return code;
    if (!CODE_SHAPE.test(code) || this.codes.size >= MAX_CODES) return 'OTHER';
    this.codes.add(code);
    return code;
  }

  selection(from: string | undefined, to: string | undefined, reason: string): void {
    if (this.closed) return;
    if (from !== undefined) this.set.selected.set({ model: this.model, backend: from }, 0);
    if (to !== undefined) {
      this.set.selected.set({ model: this.model, backend: to }, 1);
      this.set.selections.inc({ model: this.model, backend: to, reason });
    }
  }

  hedge(outcome: 'won' | 'lost' | 'failed'): void {
    this.set.hedges.inc({ model: this.model, outcome });
  }

  quarantine(backend: string, on: boolean): void {
    if (this.closed) return;
    if (on) this.set.quarantines.inc({ model: this.model, backend });
    this.set.quarantined.set({ model: this.model, backend }, on ? 1 : 0);
  }

  breaker(backend: string, state: BreakerState): void {
    if (this.closed) return;
    this.set.breakerState.set({ model: this.model, backend }, BREAKER_VALUE[state]);
  }

  /** Drops this model's gauges (its counters stay, as Prometheus expects of counters) and frees its name. */
  close(backends: readonly string[]): void {
    this.closed = true;
    for (const backend of backends) {
      for (const g of [this.set.breakerState, this.set.quarantined, this.set.selected]) g.remove({ model: this.model, backend });
    }
    this.names.delete(this.model);
  }
}
