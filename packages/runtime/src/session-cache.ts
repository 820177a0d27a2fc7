import { ForgeError, ForgeErrorCode } from '@onnx-forge/core';
import type { RuntimeBackend } from './backend.js';
import { resolveBackend } from './backend-registry.js';
import type { Clock } from './clock.js';
import { createLocalSession } from './create-local-session.js';
import { type CreateSessionOptions, type SessionAcquirer, CREATE_OPTION_KEYS, validateCreateOptions, validateProviders } from './create-session-options.js';
import { type ModelSource, type ModelVariants, isModelVariants, modelKey, normalizeModel } from './model-source.js';
import { validateSessionOptions } from './session-options.js';
import type { Feeds, Outputs, RunOptions, Session, SessionEvents } from './types.js';

/**
 * Sessions shared by reference count, keyed by model × options × provider. Concurrent acquisitions
 * of the same key share one creation; a failed creation is not cached (the next acquire tries again,
 * unlike transformers.js #1767, which keeps the rejected promise); the session is released when the
 * last holder releases, after the runs in flight finish. Two provider chains that end on the same
 * provider (['cuda', 'cpu'] and ['cpu'] on a machine without CUDA) share one session.
 */

export type SessionFactory = (model: ModelSource | ModelVariants, options: CreateSessionOptions) => Promise<Session>;

interface Entry {
  readonly session: Session;
  readonly key: string;
  refs: number;
  closing: Promise<void> | undefined;
}

export interface SessionCacheStats {
  /** Live sessions. */
  readonly sessions: number;
  /** Creations in flight. */
  readonly pending: number;
  readonly hits: number;
  readonly misses: number;
  /** Holders per live session. */
  readonly refs: readonly { readonly key: string; readonly provider: string; readonly refs: number }[];
}

/** Backends and clocks are objects: sessions share a key only when they share the object. */
const objectIds = new WeakMap<RuntimeBackend | Clock, number>();
let nextObjectId = 0;

function idOf(o: RuntimeBackend | Clock): number {
  let id = objectIds.get(o);
  if (id === undefined) objectIds.set(o, (id = ++nextObjectId));
  return id;
}

export class SessionCache implements SessionAcquirer {
  private readonly entries = new Map<string, Entry>();
  /** Request key (model × options × requested providers) → key of the entry it resolved to. */
  private readonly resolved = new Map<string, string>();
  private readonly pending = new Map<string, Promise<Entry>>();
  private hits = 0;
  private misses = 0;
  private readonly create: SessionFactory;

  /** `create` makes the sessions (default: in-process sessions; pass createPool for pools). */
  constructor(options: { create?: SessionFactory } = {}) {
    this.create = options.create ?? createLocalSession;
  }

  async acquire(model: ModelSource | ModelVariants, options: CreateSessionOptions = {}): Promise<Session> {
    const key = await this.requestKey(model, options);
    let entry = this.lookup(key);
    if (entry) this.hits++;
    else {
      let p = this.pending.get(key);
      if (p) this.hits++;
      else {
        this.misses++;
        p = this.createEntry(key, model, options).finally(() => this.pending.delete(key));
        this.pending.set(key, p);
      }
      entry = await p;
    }
    entry.refs++;
    const e = entry;
    return new CachedSession(e, () => this.unref(e));
  }

  stats(): SessionCacheStats {
    return {
      sessions: this.entries.size,
      pending: this.pending.size,
      hits: this.hits,
      misses: this.misses,
      refs: [...this.entries.values()].map((e) => ({ key: e.key, provider: e.session.provider, refs: e.refs })),
    };
  }

  /** Releases every session now held (waiting for runs in flight); handles still out become unusable. */
  async clear(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    this.resolved.clear();
    await Promise.all(all.map((e) => (e.closing ??= e.session.release())));
  }

  private lookup(key: string): Entry | undefined {
    const k = this.resolved.get(key);
    const e = k === undefined ? undefined : this.entries.get(k);
    return e && !e.closing ? e : undefined;
  }

  private async createEntry(key: string, model: ModelSource | ModelVariants, options: CreateSessionOptions): Promise<Entry> {
    const session = await this.create(model, { ...options, cache: false });
    const entryKey = `${key.slice(0, key.lastIndexOf('|providers='))}|provider=${session.provider}|precision=${session.precision}`;
    const existing = this.entries.get(entryKey);
    if (existing && !existing.closing) {
      // Another chain already holds a session on the same provider: keep one.
      this.resolved.set(key, entryKey);
      await session.release();
      return existing;
    }
    const entry: Entry = { session, key: entryKey, refs: 0, closing: undefined };
    this.entries.set(entryKey, entry);
    this.resolved.set(key, entryKey);
    return entry;
  }

  /** Called by a handle's release. */
  private async unref(entry: Entry): Promise<void> {
    if (--entry.refs > 0 || entry.closing) return;
    entry.closing = entry.session.release();
    if (this.entries.get(entry.key) === entry) this.entries.delete(entry.key);
    for (const [k, v] of this.resolved) if (v === entry.key && !this.entries.has(v)) this.resolved.delete(k);
    await entry.closing;
  }

  private async requestKey(model: ModelSource | ModelVariants, options: CreateSessionOptions): Promise<string> {
    validateCreateOptions(options);
    const backend = await resolveBackend(options.backend, options.probe === undefined ? {} : { probe: options.probe });
    const validated = await validateSessionOptions(options, backend.name, CREATE_OPTION_KEYS);
    const providers = validateProviders(options.providers, backend.defaultProvider);
    let models: string;
    if (isModelVariants(model)) {
      const parts: string[] = [];
      for (const p of ['fp32', 'fp16', 'int8'] as const) {
        const m = model[p];
        if (m !== undefined) parts.push(`${p}=${await modelKey(normalizeModel(m))}`);
      }
      models = parts.join(',');
    } else {
      models = await modelKey(normalizeModel(model));
    }
    if (options.warmup !== undefined && typeof options.warmup === 'object') {
      throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, 'warmup feeds cannot be part of a cached session key: use warmup: true, or no cache', { details: { option: 'warmup' } });
    }
    // A session's runs are timed by the clock it was created with: another clock, another session.
    const clock = options.clock === undefined ? null : idOf(options.clock);
    const policy = JSON.stringify([options.strict ?? false, options.precision ?? null, options.prefer ?? null, options.capabilities ?? null, options.warmup ?? null, options.probe ?? null, clock]);
    return `${backend.name}#${idOf(backend)}|${models}|${validated.key}|${policy}|providers=${JSON.stringify(providers)}`;
  }
}

/** One holder's view of a shared session: its own release, its own listeners, its own runs in flight. */
class CachedSession implements Session {
  private releasing: Promise<void> | undefined;
  private readonly unsubscribe: (() => void)[] = [];
  private inflight = 0;
  private idle: (() => void) | undefined;

  constructor(private readonly entry: Entry, private readonly unref: () => Promise<void>) {}

  private get s(): Session {
    return this.entry.session;
  }
  get id() { return this.s.id; }
  get backend() { return this.s.backend; }
  get provider() { return this.s.provider; }
  get skipped() { return this.s.skipped; }
  get precision() { return this.s.precision; }
  get precisionReason() { return this.s.precisionReason; }
  get inputNames() { return this.s.inputNames; }
  get outputNames() { return this.s.outputNames; }
  get inputMetadata() { return this.s.inputMetadata; }
  get outputMetadata() { return this.s.outputMetadata; }
  get released(): boolean {
    return this.releasing !== undefined;
  }

  run(feeds: Feeds, options?: RunOptions): Promise<Outputs> {
    if (this.releasing) return Promise.reject(new ForgeError(ForgeErrorCode.RUNTIME, `this handle of session ${this.id} was released; acquire the session again`));
    this.inflight++;
    return this.s.run(feeds, options).finally(() => {
      if (--this.inflight === 0 && this.idle) this.idle();
    });
  }

  on<K extends keyof SessionEvents>(event: K, listener: (payload: SessionEvents[K]) => void): () => void {
    const off = this.s.on(event, listener);
    this.unsubscribe.push(off);
    return off;
  }

  release(): Promise<void> {
    this.releasing ??= (async () => {
      if (this.inflight > 0) await new Promise<void>((resolve) => (this.idle = resolve));
      for (const off of this.unsubscribe) off();
      await this.unref();
    })();
    return this.releasing;
  }
}

let shared: SessionCache | undefined;

/** The process-wide cache used by createSession({ cache: true }). */
export function defaultSessionCache(): SessionCache {
  shared ??= new SessionCache();
  return shared;
}
