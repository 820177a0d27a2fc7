import { ForgeError, ForgeErrorCode } from '@onnx-forge/core';
import type { RuntimeBackend } from './backend.js';
import { type Clock, isClock } from './clock.js';
import type { ModelSource, ModelVariants } from './model-source.js';
import type { PrecisionPolicy } from './precision.js';
import type { ProviderConfig } from './provider-config.js';
import type { SessionOptions } from './session-options.js';
import type { BackendName, Feeds, Precision, Session, SessionEvent } from './types.js';

/**
 * What createSession takes beyond onnxruntime's own session options, and its checks. Shared by the
 * in-process path, the session cache (which keys sessions by these options) and the worker pool
 * (which validates them before starting threads).
 */
export interface CreateSessionOptions extends SessionOptions, PrecisionPolicy {
  /**
   * A registered backend by name ('node' for onnxruntime-node, 'web' for onnxruntime-web, or one added
   * with registerBackend), or a backend object. Default: the registered backend of highest priority
   * that starts here (node in Node.js, web in browsers).
   */
  backend?: BackendName | (string & {}) | RuntimeBackend;
  /**
   * Execution providers to try in order; the first that starts, loads the model and (when a fallback
   * remains) passes a warm-up run wins. Default: the backend's own ('cpu' or 'wasm').
   */
  providers?: readonly ProviderConfig[];
  /** Fail on the first provider that does not work instead of falling back. */
  strict?: boolean;
  /**
   * Run the model once before returning: true (zeros shaped from the model's inputs, symbolic dims 1),
   * feeds to use, or false. Default: only when a later provider could still take over, because a
   * provider that creates a session can still fail on its first run.
   */
  warmup?: boolean | Feeds;
  /** Node backend: start GPU providers in a child process first (see nodeBackend). */
  probe?: 'in-process' | 'child-process';
  /** Share sessions through a cache: true for the process-wide default, or a SessionCache of one's own. */
  cache?: boolean | SessionAcquirer;
  /** For a single model: which precision it is (default 'fp32'); for variants: force one. */
  precision?: Precision;
  /** Receives skip and ready events during creation (and every later event of the session). */
  onEvent?: (event: SessionEvent) => void;
  /** What times runs and enforces time limits (default: the system clock). */
  clock?: Clock;
}

/** What createSession needs of a cache; SessionCache is one (stated here so the options need not import the cache). */
export interface SessionAcquirer {
  acquire(model: ModelSource | ModelVariants, options: CreateSessionOptions): Promise<Session>;
}

export const CREATE_OPTION_KEYS = ['backend', 'providers', 'strict', 'warmup', 'probe', 'cache', 'precision', 'onEvent', 'prefer', 'capabilities', 'clock'] as const;

export function validateProviders(providers: unknown, fallback: string): ProviderConfig[] {
  if (providers === undefined) return [fallback];
  if (!Array.isArray(providers) || providers.length === 0) {
    throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, "providers must be a non-empty array such as ['cuda', 'webgpu', 'cpu']", { details: { option: 'providers' } });
  }
  const out: ProviderConfig[] = [];
  for (const p of providers as unknown[]) {
    if (typeof p === 'string' && p !== '') out.push(p);
    else if (isProviderObject(p)) out.push(p);
    else throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `providers: ${JSON.stringify(p)} is neither a provider name nor { name, ...options }`, { details: { option: 'providers' } });
  }
  return out;
}

function isProviderObject(p: unknown): p is Exclude<ProviderConfig, string> {
  return typeof p === 'object' && p !== null && typeof (p as { name?: unknown }).name === 'string';
}

/** Checks the options that are createSession's own (onnxruntime's are checked by validateSessionOptions). */
export function validateCreateOptions(options: CreateSessionOptions): void {
  const o = options;
  if (o.strict !== undefined && typeof o.strict !== 'boolean') throw invalid('strict must be true or false', 'strict');
  if (o.probe !== undefined && o.probe !== 'in-process' && o.probe !== 'child-process') throw invalid("probe must be 'in-process' or 'child-process'", 'probe');
  if (o.precision !== undefined && !['fp32', 'fp16', 'int8'].includes(o.precision)) throw invalid("precision must be 'fp32', 'fp16' or 'int8'", 'precision');
  if (o.prefer !== undefined && o.prefer !== 'accuracy' && o.prefer !== 'speed') throw invalid("prefer must be 'accuracy' or 'speed'", 'prefer');
  if (o.onEvent !== undefined && typeof o.onEvent !== 'function') throw invalid('onEvent must be a function', 'onEvent');
  if (o.capabilities !== undefined) {
    const c = o.capabilities as Record<string, unknown>;
    if (typeof c !== 'object' || c === null || Object.keys(c).some((k) => k !== 'shaderF16') || (c.shaderF16 !== undefined && typeof c.shaderF16 !== 'boolean')) {
      throw invalid('capabilities must be { shaderF16?: boolean }', 'capabilities');
    }
  }
  if (o.warmup !== undefined && typeof o.warmup !== 'boolean' && (typeof o.warmup !== 'object' || o.warmup === null)) throw invalid('warmup must be true, false or feeds', 'warmup');
  if (o.clock !== undefined && !isClock(o.clock)) throw invalid('clock must have now(), setTimeout() and clearTimeout() (see systemClock)', 'clock');
}

function invalid(message: string, option: string): ForgeError {
  return new ForgeError(ForgeErrorCode.INVALID_OPTIONS, message, { details: { option } });
}
