import { ForgeError, ForgeErrorCode, errorMessage, isForgeError } from '@onnx-forge/core';
import type { BackendFactory, BackendLoader, BackendOptions, RuntimeBackend } from './backend.js';
import { BUILTIN_BACKENDS } from './builtin-backends.js';
import { type Clock, systemClock } from './clock.js';
import type { BackendSkip } from './types.js';

/**
 * Backends by name and priority, each started at most once per process. The idea is onnxruntime's
 * own (js/common backend-impl.ts: register with a priority, resolve by name or by priority, remember
 * a backend that failed to initialize); here the loader imports the backend's module lazily,
 * concurrent resolutions share one init promise instead of failing with "is being initialized", and
 * every backend passed over is reported with its reason and time, as providers are.
 */

/** Where a registered backend stands in this process. */
export interface BackendState {
  readonly name: string;
  readonly priority: number;
  readonly state: 'not started' | 'starting' | 'ready' | 'failed';
  /** Why it failed (state 'failed'). */
  readonly error?: string;
  /** How long its loader took (once settled). */
  readonly ms?: number;
}

type InitOutcome = { readonly ok: true; readonly make: BackendFactory; readonly ms: number } | { readonly ok: false; readonly error: ForgeError; readonly ms: number };

interface Entry {
  readonly name: string;
  readonly loader: BackendLoader;
  readonly priority: number;
  readonly order: number;
  init: Promise<InitOutcome> | undefined;
  outcome: InitOutcome | undefined;
}

export class BackendRegistry {
  private readonly entries = new Map<string, Entry>();

  constructor(builtins: readonly { readonly name: string; readonly loader: BackendLoader; readonly priority: number }[] = [], private readonly clock: Clock = systemClock) {
    for (const b of builtins) this.register(b.name, b.loader, b.priority);
  }

  /**
   * Adds a backend. `priority` orders the backends tried when a session names none (higher first);
   * a negative priority registers a backend used only by name. Registering the same loader again
   * under a name is a no-op; another loader under a taken name is an error.
   */
  register(name: string, loader: BackendLoader, priority: number): void {
    if (typeof name !== 'string' || name === '') throw invalid(`a backend name must be a non-empty string, got ${JSON.stringify(name)}`);
    if (typeof loader !== 'function') throw invalid(`the loader of backend '${name}' must be a function that imports the backend`);
    if (typeof priority !== 'number' || !Number.isFinite(priority)) throw invalid(`the priority of backend '${name}' must be a finite number, got ${JSON.stringify(priority)}`);
    const existing = this.entries.get(name);
    if (existing) {
      if (existing.loader === loader) return;
      throw invalid(`backend '${name}' is already registered; choose another name`);
    }
    this.entries.set(name, { name, loader, priority, order: this.entries.size, init: undefined, outcome: undefined });
  }

  /** Registered names, highest priority first (equal priorities in registration order). */
  names(): string[] {
    return this.byPriority().map((e) => e.name);
  }

  /**
   * The backend named (a backend object passes through), or with none named the first of priority
   * >= 0 that starts here, with the ones passed over before it.
   */
  async resolve(backend: string | RuntimeBackend | undefined, options: BackendOptions = {}): Promise<{ backend: RuntimeBackend; skipped: BackendSkip[] }> {
    if (typeof backend === 'object' && backend !== null) return { backend, skipped: [] };
    if (backend !== undefined) {
      const entry = this.entries.get(backend);
      if (!entry) {
        throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `unknown backend '${String(backend)}': use one of ${this.names().map((n) => `'${n}'`).join(', ')}, or register it with registerBackend`, {
          details: { option: 'backend', registered: this.names() },
        });
      }
      const { outcome, remembered } = await this.init(entry);
      if (!outcome.ok) throw rethrown(outcome.error, remembered);
      return { backend: outcome.make(options), skipped: [] };
    }
    const skipped: BackendSkip[] = [];
    for (const entry of this.byPriority()) {
      if (entry.priority < 0) continue;
      const { outcome, remembered } = await this.init(entry);
      if (outcome.ok) return { backend: outcome.make(options), skipped };
      skipped.push({ backend: entry.name, error: outcome.error.message, remembered, ms: outcome.ms });
    }
    const list = skipped.map((s) => `${s.backend}: ${s.error}`).join('; ');
    throw new ForgeError(ForgeErrorCode.NO_PROVIDER, `no backend could start here${list ? ` (${list})` : ' (none is registered with a priority of 0 or more)'}; name one with the backend option or register one that works here`, {
      details: { skipped },
    });
  }

  status(): BackendState[] {
    return this.byPriority().map((e) => {
      const o = e.outcome;
      if (!o) return { name: e.name, priority: e.priority, state: e.init ? 'starting' : 'not started' };
      return o.ok ? { name: e.name, priority: e.priority, state: 'ready', ms: o.ms } : { name: e.name, priority: e.priority, state: 'failed', error: o.error.message, ms: o.ms };
    });
  }

  /**
   * Forgets a remembered outcome (one backend's, or all), so the next resolution loads it again, e.g.
   * after installing a missing library in a long-lived process. A module that failed to import stays
   * failed in the module cache of most hosts regardless.
   */
  forget(name?: string): void {
    for (const e of this.entries.values()) {
      if (name !== undefined && e.name !== name) continue;
      e.init = undefined;
      e.outcome = undefined;
    }
  }

  private byPriority(): Entry[] {
    return [...this.entries.values()].sort((a, b) => b.priority - a.priority || a.order - b.order);
  }

  /** One init per backend: concurrent and later callers share the first attempt and its outcome. */
  private async init(entry: Entry): Promise<{ outcome: InitOutcome; remembered: boolean }> {
    if (entry.init) return { outcome: await entry.init, remembered: true };
    const started = this.clock.now();
    const attempt = (async (): Promise<InitOutcome> => {
      try {
        const loaded = await entry.loader();
        const make: BackendFactory = typeof loaded === 'function' ? loaded : () => loaded;
        return { ok: true, make, ms: this.clock.now() - started };
      } catch (e) {
        return { ok: false, error: startError(entry.name, e), ms: this.clock.now() - started };
      }
    })();
    entry.init = attempt;
    const outcome = await attempt;
    // A forget() while the attempt ran leaves the entry alone.
    if (entry.init === attempt) entry.outcome = outcome;
    return { outcome, remembered: false };
  }
}

function invalid(message: string): ForgeError {
  return new ForgeError(ForgeErrorCode.INVALID_OPTIONS, message, { details: { option: 'backend' } });
}

/** A loader's own ForgeError keeps its code (e.g. INVALID_OPTIONS for 'node' in a browser); anything else means the backend cannot start here. */
function startError(name: string, e: unknown): ForgeError {
  if (isForgeError(e)) return e;
  return new ForgeError(ForgeErrorCode.NO_PROVIDER, `backend '${name}' cannot start here: ${errorMessage(e)}`, { cause: e, details: { backend: name } });
}

function rethrown(error: ForgeError, remembered: boolean): ForgeError {
  if (!remembered) return error;
  return new ForgeError(error.code, `${error.message} (remembered from an earlier attempt in this process)`, { cause: error.cause, details: { ...error.details, remembered: true } });
}

const registry = new BackendRegistry(BUILTIN_BACKENDS);

/**
 * Registers a backend for every session of the process: `loader` imports its module when a session
 * first asks for it (by name, or by `priority` when none is named: higher first, negative never).
 */
export function registerBackend(name: string, loader: BackendLoader, priority: number): void {
  registry.register(name, loader, priority);
}

/** The backend a session with these options runs on (loaded once per process). */
export async function resolveBackend(backend?: string | RuntimeBackend, options: BackendOptions = {}): Promise<RuntimeBackend> {
  return (await registry.resolve(backend, options)).backend;
}

/** The backend and the registered backends passed over before it (for the ready event). */
export function resolveBackendReporting(backend: string | RuntimeBackend | undefined, options: BackendOptions = {}): Promise<{ backend: RuntimeBackend; skipped: BackendSkip[] }> {
  return registry.resolve(backend, options);
}

/** Forgets a backend's remembered start (or every backend's); see BackendRegistry.forget. */
export function forgetBackendState(name?: string): void {
  registry.forget(name);
}

/** Every registered backend and whether it started here. */
export function backendStatus(): BackendState[] {
  return registry.status();
}
