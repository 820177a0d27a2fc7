import { type ForgeError, MAX_TIMER_MS } from '@onnx-forge/core';
import { type Clock, systemClock } from '@onnx-forge/runtime';
import type { Registry } from 'prom-client';
import type { Backend } from './backend.js';
import { type BreakerOptions, DEFAULT_BREAKER } from './circuit-breaker.js';
import { type AccuracyTolerance, DEFAULT_TOLERANCE } from './compare-outputs.js';
import { checkClock, invalidOption, rejectUnknownOptions } from './invalid-option.js';
import { seededRandom } from './seeded-random.js';

/**
 * - `auto`: the lowest recent latency among healthy backends that meet the p99 target (all healthy
 *   ones when none does);
 * - `speed`: the lowest recent latency, constraints aside (a drifting backend is still quarantined);
 * - `accuracy`: the reference, or when it is not served, the backend with the least drift from it;
 * - `size`: the smallest `sizeBytes`;
 * - `{ order }`: the first healthy backend in this order; the rest follow in the order given.
 */
export type Policy = 'auto' | 'speed' | 'accuracy' | 'size' | { readonly order: readonly string[] };

export interface Constraints {
  /**
   * Latency target: `auto` passes over backends whose recent p99 exceeds it while another meets it.
   * The p99 is of the calls' own time, as the medians compared (see `Backend.sharesThread` and
   * `runsAtOnce`): for a backend that gives neither, of its latencies.
   */
  readonly p99Ms?: number;
  /** How far from the reference a backend may drift before the canary quarantines it. */
  readonly accuracy?: Partial<AccuracyTolerance>;
}

export interface CanaryOptions {
  /** Share of ordinary requests also run on the reference (default 0.05). Explorations, probes and first measurements always are. */
  readonly sampleRate?: number;
  /** Failed checks (since the last revalidation) that quarantine a backend (default 1). */
  readonly quarantineAfter?: number;
  /** Recent request feeds kept for `revalidate` (default 16; kept by reference, not copied). */
  readonly keepSamples?: number;
}

export interface StabilityOptions {
  /** Share of requests sent to another healthy backend to keep its figures fresh (default 0.05; 0 for `size` and `order`). */
  readonly exploration?: number;
  /** Relative latency gain a backend must show before the choice moves to it (default 0.1). */
  readonly minGain?: number;
  /** How long a choice stands before the next move for speed (default 5 s); health problems move at once. */
  readonly dwellMs?: number;
  /** Successful calls before a backend's latency is trusted (default 5); until then it is measured first. */
  readonly minSamples?: number;
  /** Recent calls whose median latency is compared (default 32). */
  readonly decisionWindow?: number;
  /** The gain must also exceed z standard errors of the difference of medians (default 3). */
  readonly z?: number;
}

export interface StatisticsOptions {
  /** Calls kept per backend for the p50/p95/p99 window (default 256). */
  readonly window?: number;
  /** Time constant of the peak-EWMA latency (default 10 s, as Finagle). */
  readonly ewmaTauMs?: number;
}

/**
 * Hedged requests ("The Tail at Scale", Dean & Barroso): when the backend a request went to has not
 * answered after its usual latency, the same request also goes to a second backend, the first answer
 * wins and the other call is cancelled (or, for a backend that cannot cancel, ignored).
 */
export interface HedgeOptions {
  /** When the second call goes out: a fixed delay in ms, or 'p95' (default), the first backend's p95 over its recent calls. */
  readonly after?: number | 'p95';
  /** With 'p95': successful calls before a backend's p95 is trusted; until then its calls are not hedged (default 20). */
  readonly minSamples?: number;
  /**
   * Most hedges as a share of requests (default 0.1). When a backend slows down as a whole, every call
   * passes its old p95: hedging all of them would double the load just when the machine is short of it.
   */
  readonly maxShare?: number;
  /** Abort the slower call through the AbortSignal passed to `predict` (default true); a backend that ignores it runs on, and its answer is dropped. */
  readonly cancel?: boolean;
}

export interface MetricsOptions {
  /** A prom-client Registry, or 'default' for prom-client's global one. */
  readonly registry: Registry | 'default';
  /** Latency histogram buckets in seconds. */
  readonly buckets?: readonly number[];
}

export interface HybridOptions {
  /** Name of this model in statistics and metrics (default 'hybrid'); unique per metrics registry. */
  readonly name?: string;
  readonly backends: readonly Backend[];
  /**
   * The backend whose answers are right by definition (the original model, or FP32): a name among
   * `backends`, or a backend of its own (then added to them, served only if `serveReference`).
   */
  readonly reference?: string | Backend;
  /** Whether the reference may answer requests too, as a last resort at least (default true). */
  readonly serveReference?: boolean;
  readonly policy?: Policy;
  readonly constraints?: Constraints;
  /** The accuracy canary (needs a reference); false turns it off. */
  readonly canary?: CanaryOptions | false;
  /** Per-backend circuit breaker; false turns it off. */
  readonly breaker?: Partial<BreakerOptions> | false;
  /** Hedged requests (off by default); true for the defaults. */
  readonly hedge?: HedgeOptions | boolean;
  readonly stability?: StabilityOptions;
  readonly statistics?: StatisticsOptions;
  /** Time limit of one backend call; past it the request moves to the next backend (default none). */
  readonly timeoutMs?: number;
  readonly clock?: Clock;
  /** Uniform [0, 1) source for exploration and canary sampling (default a seeded generator). */
  readonly random?: () => number;
  readonly metrics?: MetricsOptions;
}

export interface ResolvedOptions {
  readonly name: string;
  readonly policy: Policy;
  readonly serveReference: boolean;
  readonly p99Ms: number | undefined;
  readonly tolerance: AccuracyTolerance;
  readonly canary: { readonly enabled: boolean; readonly sampleRate: number; readonly quarantineAfter: number; readonly keepSamples: number };
  readonly breaker: BreakerOptions;
  readonly hedge: { readonly after: number | 'p95'; readonly minSamples: number; readonly maxShare: number; readonly cancel: boolean } | undefined;
  readonly exploration: number;
  readonly minGain: number;
  readonly dwellMs: number;
  readonly minSamples: number;
  readonly decisionWindow: number;
  readonly z: number;
  readonly window: number;
  readonly ewmaTauMs: number;
  readonly timeoutMs: number | undefined;
  readonly clock: Clock;
  readonly random: () => number;
}

const TOP_KEYS = ['name', 'backends', 'reference', 'serveReference', 'policy', 'constraints', 'canary', 'breaker', 'hedge', 'stability', 'statistics', 'timeoutMs', 'clock', 'random', 'metrics'];

function invalid(message: string, option: string): ForgeError {
  return invalidOption('HybridModel', message, option);
}

function num(option: string, v: unknown, fallback: number, check: (n: number) => boolean, rule: string): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || Number.isNaN(v) || !check(v)) throw invalid(`${option} must be ${rule}, got ${JSON.stringify(v)}`, option);
  return v;
}

function keys(option: string, value: unknown, allowed: readonly string[]): void {
  if (value === undefined || value === false) return;
  if (typeof value !== 'object' || value === null) throw invalid(`${option} must be an object`, option);
  for (const k of Object.keys(value)) if (!allowed.includes(k)) throw invalid(`unknown option ${option}.${k} (known: ${allowed.join(', ')})`, `${option}.${k}`);
}

const share = (n: number) => n >= 0 && n <= 1;
const timerDelay = (n: number) => n > 0 && n <= MAX_TIMER_MS;
const positive = (n: number) => n > 0;
const nonNegative = (n: number) => n >= 0;
const positiveInt = (n: number) => Number.isInteger(n) && n >= 1;

/**
 * The breaker's options with defaults. `failures` given alone keeps its meaning from before the rate
 * rule: that many failures within the window open the circuit, whatever share of the calls they are.
 */
function resolveBreaker(b: Partial<BreakerOptions> | undefined): BreakerOptions {
  if (b === undefined) return { ...DEFAULT_BREAKER, failures: Number.POSITIVE_INFINITY };
  const countRule = b.failures !== undefined && b.errorRate === undefined && b.minRequests === undefined;
  return {
    errorRate: countRule ? 0 : num('breaker.errorRate', b.errorRate, DEFAULT_BREAKER.errorRate, (n) => n > 0 && n <= 1, 'above 0 and at most 1'),
    minRequests: countRule ? 1 : num('breaker.minRequests', b.minRequests, DEFAULT_BREAKER.minRequests, positiveInt, 'an integer ≥ 1'),
    failures: num('breaker.failures', b.failures, DEFAULT_BREAKER.failures, positiveInt, 'an integer ≥ 1'),
    windowMs: num('breaker.windowMs', b.windowMs, DEFAULT_BREAKER.windowMs, positive, 'a number > 0'),
    buckets: num('breaker.buckets', b.buckets, DEFAULT_BREAKER.buckets, positiveInt, 'an integer ≥ 1'),
    resetMs: num('breaker.resetMs', b.resetMs, DEFAULT_BREAKER.resetMs, positive, 'a number > 0'),
  };
}

function resolveHedge(h: HedgeOptions | boolean | undefined): ResolvedOptions['hedge'] {
  if (h === undefined || h === false) return undefined;
  if (h !== true && (typeof h !== 'object' || h === null)) throw invalid('hedge must be true, false or { after, minSamples, maxShare, cancel }', 'hedge');
  const o: HedgeOptions = h === true ? {} : h;
  const after = o.after === undefined || o.after === 'p95' ? 'p95' : num('hedge.after', o.after, 0, (n) => n >= 0 && n <= MAX_TIMER_MS, `a number of ms from 0 to ${MAX_TIMER_MS} or 'p95'`);
  if (o.cancel !== undefined && typeof o.cancel !== 'boolean') throw invalid('hedge.cancel must be true or false', 'hedge.cancel');
  return {
    after,
    minSamples: num('hedge.minSamples', o.minSamples, 20, positiveInt, 'an integer ≥ 1'),
    maxShare: num('hedge.maxShare', o.maxShare, 0.1, share, 'between 0 and 1'),
    cancel: o.cancel ?? true,
  };
}

/** Validates the options once and fills in the defaults (backends are checked by HybridModel). */
export function resolveOptions(o: HybridOptions, hasReference: boolean): ResolvedOptions {
  if (typeof o !== 'object' || o === null) throw invalid('options must be an object with at least { backends }', 'options');
  rejectUnknownOptions('HybridModel', o, TOP_KEYS);
  keys('constraints', o.constraints, ['p99Ms', 'accuracy']);
  keys('constraints.accuracy', o.constraints?.accuracy, Object.keys(DEFAULT_TOLERANCE));
  keys('canary', o.canary, ['sampleRate', 'quarantineAfter', 'keepSamples']);
  keys('breaker', o.breaker, Object.keys(DEFAULT_BREAKER));
  keys('hedge', o.hedge === true ? undefined : o.hedge, ['after', 'minSamples', 'maxShare', 'cancel']);
  keys('stability', o.stability, ['exploration', 'minGain', 'dwellMs', 'minSamples', 'decisionWindow', 'z']);
  keys('statistics', o.statistics, ['window', 'ewmaTauMs']);
  const name = o.name ?? 'hybrid';
  if (typeof name !== 'string' || name === '') throw invalid('name must be a non-empty string', 'name');
  const policy = o.policy ?? 'auto';
  const isOrder = typeof policy === 'object' && policy !== null && Array.isArray((policy as { order?: unknown }).order);
  if (!isOrder && !['auto', 'speed', 'accuracy', 'size'].includes(policy as string)) {
    throw invalid(`policy must be 'auto', 'speed', 'accuracy', 'size' or { order: [names] }, got ${JSON.stringify(policy)}`, 'policy');
  }
  if (policy === 'accuracy' && !hasReference) throw invalid("policy 'accuracy' needs a reference to measure drift against: pass { reference }", 'policy');
  const acc = o.constraints?.accuracy ?? {};
  const classifiers: unknown = acc.classifiers;
  if (classifiers !== undefined && !(Array.isArray(classifiers) && classifiers.every((n) => typeof n === 'string'))) {
    throw invalid('constraints.accuracy.classifiers must be a list of output names', 'constraints.accuracy.classifiers');
  }
  const tolerance: AccuracyTolerance = {
    minCosine: num('constraints.accuracy.minCosine', acc.minCosine, DEFAULT_TOLERANCE.minCosine, (n) => n >= -1 && n <= 1, 'between -1 and 1'),
    maxAbsError: num('constraints.accuracy.maxAbsError', acc.maxAbsError, DEFAULT_TOLERANCE.maxAbsError, nonNegative, 'a number ≥ 0'),
    argmax: acc.argmax ?? DEFAULT_TOLERANCE.argmax,
    argmaxMargin: num('constraints.accuracy.argmaxMargin', acc.argmaxMargin, DEFAULT_TOLERANCE.argmaxMargin, share, 'between 0 and 1'),
    classifiers: acc.classifiers === undefined ? undefined : [...acc.classifiers],
  };
  if (typeof tolerance.argmax !== 'boolean') throw invalid('constraints.accuracy.argmax must be true or false', 'constraints.accuracy.argmax');
  const c = o.canary === false ? undefined : o.canary ?? {};
  const b = o.breaker === false ? undefined : o.breaker ?? {};
  const s = o.stability ?? {};
  const st = o.statistics ?? {};
  const staticPolicy = isOrder || policy === 'size';
  const decisionWindow = num('stability.decisionWindow', s.decisionWindow, 32, (n) => positiveInt(n) && n >= 2, 'an integer ≥ 2');
  const window = num('statistics.window', st.window, 256, (n) => positiveInt(n) && n >= decisionWindow, `an integer ≥ stability.decisionWindow (${decisionWindow})`);
  checkClock('HybridModel', o.clock);
  if (o.random !== undefined && typeof o.random !== 'function') throw invalid('random must be a function returning numbers in [0, 1)', 'random');
  // Seeded by default, so that two runs with the same traffic explore and sample the same requests.
  const random = o.random ?? seededRandom(0x5eed);
  return {
    name,
    policy: isOrder ? { order: [...(policy as { order: readonly string[] }).order] } : policy,
    serveReference: o.serveReference ?? true,
    p99Ms: o.constraints?.p99Ms === undefined ? undefined : num('constraints.p99Ms', o.constraints.p99Ms, 0, positive, 'a number > 0'),
    tolerance,
    canary: {
      enabled: c !== undefined && hasReference,
      sampleRate: num('canary.sampleRate', c?.sampleRate, 0.05, share, 'between 0 and 1'),
      quarantineAfter: num('canary.quarantineAfter', c?.quarantineAfter, 1, positiveInt, 'an integer ≥ 1'),
      keepSamples: num('canary.keepSamples', c?.keepSamples, 16, (n) => Number.isInteger(n) && n >= 0, 'an integer ≥ 0'),
    },
    breaker: resolveBreaker(b),
    hedge: resolveHedge(o.hedge),
    exploration: num('stability.exploration', s.exploration, staticPolicy ? 0 : 0.05, share, 'between 0 and 1'),
    minGain: num('stability.minGain', s.minGain, 0.1, (n) => n >= 0 && n < 1, 'at least 0 and below 1'),
    dwellMs: num('stability.dwellMs', s.dwellMs, 5_000, nonNegative, 'a number ≥ 0'),
    minSamples: num('stability.minSamples', s.minSamples, 5, positiveInt, 'an integer ≥ 1'),
    decisionWindow,
    z: num('stability.z', s.z, 3, nonNegative, 'a number ≥ 0'),
    window,
    ewmaTauMs: num('statistics.ewmaTauMs', st.ewmaTauMs, 10_000, positive, 'a number > 0'),
    // A timer's delay: past MAX_TIMER_MS it would fire at once and fail every call.
    timeoutMs: o.timeoutMs === undefined ? undefined : num('timeoutMs', o.timeoutMs, 0, timerDelay, `a number > 0 and ≤ ${MAX_TIMER_MS} (the longest a timer waits)`),
    clock: o.clock ?? systemClock,
    random,
  };
}
