import { ForgeError, ForgeErrorCode, errorMessage, isForgeError } from '@onnx-forge/core';
import { type ProviderConfig, type ProviderFeatures, type RuntimeBackend, providerName } from './backend.js';
import { LocalSession } from './local-session.js';
import { type ModelSource, type ModelVariants, type PreparedModel, isModelVariants, normalizeModel, prepareModel } from './model-source.js';
import { int8Fit } from './int8-fit.js';
import { type PrecisionChoice, type PrecisionPolicy, precisionOrder } from './precision.js';
import { initProviderOnce } from './provider-init.js';
import type { SessionCache } from './session-cache.js';
import { type SessionOptions, type ValidatedSessionOptions, validateSessionOptions } from './session-options.js';
import { zerosTensor } from './tensor.js';
import type { BackendName, Feeds, Precision, ProviderSkip, Session, SessionEvent, SkipPhase } from './types.js';

export interface CreateSessionOptions extends SessionOptions, PrecisionPolicy {
  /** 'node' (onnxruntime-node; default in Node), 'web' (onnxruntime-web; default elsewhere) or a custom backend. */
  backend?: BackendName | RuntimeBackend;
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
  /** Share sessions through a cache (true: the process-wide default cache). */
  cache?: boolean | SessionCache;
  /** For a single model: which precision it is (default 'fp32'); for variants: force one. */
  precision?: Precision;
  /** Receives skip and ready events during creation (and every later event of the session). */
  onEvent?: (event: SessionEvent) => void;
}

export const CREATE_OPTION_KEYS = ['backend', 'providers', 'strict', 'warmup', 'probe', 'cache', 'precision', 'onEvent', 'prefer', 'capabilities'] as const;

const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';

/** The backend object for a name (loaded lazily so browsers never import onnxruntime-node). */
export async function resolveBackend(backend: CreateSessionOptions['backend'], probe?: CreateSessionOptions['probe']): Promise<RuntimeBackend> {
  if (typeof backend === 'object' && backend !== null) return backend;
  const name = backend ?? (isNode ? 'node' : 'web');
  if (name === 'node') {
    if (!isNode) throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, "backend 'node' needs Node.js; use backend 'web' in a browser");
    const { nodeBackend } = await import('./node-backend.js');
    return nodeBackend(probe === undefined ? {} : { probe });
  }
  if (name === 'web') {
    if (probe === 'child-process') throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, "probe: 'child-process' is for the node backend");
    const { webBackend } = await import('./web-backend.js');
    return webBackend();
  }
  throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `unknown backend '${String(name)}': use 'node' or 'web'`, { details: { option: 'backend' } });
}

export function validateProviders(providers: unknown, fallback: string): ProviderConfig[] {
  if (providers === undefined) return [fallback];
  if (!Array.isArray(providers) || providers.length === 0) {
    throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, "providers must be a non-empty array such as ['cuda', 'webgpu', 'cpu']", { details: { option: 'providers' } });
  }
  for (const p of providers) {
    const ok = (typeof p === 'string' && p !== '') || (typeof p === 'object' && p !== null && typeof (p as { name?: unknown }).name === 'string');
    if (!ok) throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `providers: ${JSON.stringify(p)} is neither a provider name nor { name, ...options }`, { details: { option: 'providers' } });
  }
  return providers as ProviderConfig[];
}

function validateCreateOptions(options: CreateSessionOptions): void {
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
}

function invalid(message: string, option: string): ForgeError {
  return new ForgeError(ForgeErrorCode.INVALID_OPTIONS, message, { details: { option } });
}

/**
 * Loads a model (or the best of its precision variants) with the first execution provider that works.
 * Every provider passed over is reported with the phase it failed in and its error, as 'skip' events
 * and on `session.skipped`.
 */
export async function createSession(model: ModelSource | ModelVariants, options: CreateSessionOptions = {}): Promise<Session> {
  if (options.cache) {
    const { defaultSessionCache } = await import('./session-cache.js');
    const cache = options.cache === true ? defaultSessionCache() : options.cache;
    return cache.acquire(model, options);
  }
  return createLocalSession(model, options);
}

/** The uncached path (the cache calls this). */
export async function createLocalSession(model: ModelSource | ModelVariants, options: CreateSessionOptions = {}): Promise<LocalSession> {
  validateCreateOptions(options);
  const backend = await resolveBackend(options.backend, options.probe);
  const validated = await validateSessionOptions(options, backend.name, CREATE_OPTION_KEYS);
  const providers = validateProviders(options.providers, backend.defaultProvider);
  const variants = normalizeVariants(model, options.precision);
  const started = performance.now();
  const skipped: ProviderSkip[] = [];
  const prepared = new Map<Precision, Promise<PreparedModel>>();

  const skip = (provider: string, phase: SkipPhase, error: string, ms: number, extra: { precision?: Precision; remembered?: boolean } = {}) => {
    const s: ProviderSkip = { provider, phase, error: error.trim(), ms, ...extra };
    skipped.push(s);
    options.onEvent?.({ type: 'skip', ...s });
    if (options.strict) throw chainError(skipped, true, backend.defaultProvider);
  };

  for (let pi = 0; pi < providers.length; pi++) {
    const provider = providers[pi] as ProviderConfig;
    const name = providerName(provider);
    const hasFallback = pi < providers.length - 1;
    let t = performance.now();
    const unavailable = await backend.resolveProvider(name);
    if (unavailable !== undefined) {
      skip(name, 'resolve', unavailable, performance.now() - t);
      continue;
    }
    const init = await initProviderOnce(backend, provider);
    if (!init.ok) {
      skip(name, 'init', init.error, init.ms, init.remembered ? { remembered: true } : {});
      continue;
    }
    const features = await backend.providerFeatures(name);
    const order = await choices(name, backend.name, variants, features, options);
    for (let ci = 0; ci < order.length; ci++) {
      const choice = order[ci] as PrecisionChoice;
      const source = variants.get(choice.precision) as Uint8Array | string;
      t = performance.now();
      let handle;
      try {
        let prep = prepared.get(choice.precision);
        if (!prep) prepared.set(choice.precision, (prep = prepareModel(source, backend, validated)));
        const { model: input, externalData } = await prep;
        handle = await backend.createSession(input, sessionOptions(validated, provider, externalData));
      } catch (e) {
        if (isInputError(e)) throw e;
        skip(name, 'create', createMessage(e), performance.now() - t, { precision: choice.precision });
        continue;
      }
      const session = new LocalSession(handle, { backend, provider: name, precision: choice.precision, precisionReason: choice.reason, skipped, exclusiveRuns: features.exclusiveRuns === true });
      let firstRunMs: number | undefined;
      const warm = options.warmup ?? (hasFallback || ci < order.length - 1);
      if (warm !== false) {
        const feeds = warm === true ? warmupFeeds(session) : warm;
        if (feeds) {
          t = performance.now();
          try {
            await session.run(feeds);
            firstRunMs = performance.now() - t;
          } catch (e) {
            await session.release().catch(() => undefined);
            // Feeds the caller chose for the warm-up are the caller's mistake, not the provider's.
            if (typeof warm === 'object' && isForgeError(e, ForgeErrorCode.BAD_INPUT)) throw e;
            skip(name, 'first-run', errorMessage(e), performance.now() - t, { precision: choice.precision });
            continue;
          }
        }
      }
      if (options.onEvent) {
        const listener = options.onEvent;
        for (const type of ['run', 'release'] as const) session.on(type, (p) => listener({ type, ...p } as SessionEvent));
        session.on('ready', (p) => listener({ type: 'ready', ...p }));
      }
      session.emitReady({
        sessionId: session.id,
        backend: backend.name,
        provider: name,
        precision: choice.precision,
        precisionReason: choice.reason,
        skipped,
        createMs: performance.now() - started,
        ...(firstRunMs === undefined ? {} : { firstRunMs }),
      });
      return session;
    }
  }
  throw chainError(skipped, false, backend.defaultProvider);
}

/** Errors that are the caller's, not the provider's: never a reason to try the next provider. */
function isInputError(e: unknown): boolean {
  return e instanceof ForgeError && ([ForgeErrorCode.IO, ForgeErrorCode.EXTERNAL_DATA, ForgeErrorCode.INVALID_OPTIONS, ForgeErrorCode.MODEL_TOO_LARGE] as string[]).includes(e.code);
}

function createMessage(e: unknown): string {
  const msg = errorMessage(e);
  if (/external (data|initializer)|GetExtDataFromTensorProto|external_data/i.test(msg)) {
    return `${msg} (the model keeps tensors in external data files: pass the model as a file path, or give externalDataDir or externalData)`;
  }
  return msg;
}

function sessionOptions(v: ValidatedSessionOptions, provider: ProviderConfig, externalData: PreparedModel['externalData']) {
  const ort = { ...v.ort, executionProviders: [provider] };
  if (externalData?.length) ort.externalData = [...(ort.externalData ?? []), ...externalData];
  return ort;
}

function normalizeVariants(model: ModelSource | ModelVariants, precision: Precision | undefined): Map<Precision, Uint8Array | string> {
  const out = new Map<Precision, Uint8Array | string>();
  if (isModelVariants(model)) {
    for (const p of ['fp32', 'fp16', 'int8'] as const) {
      const m = model[p];
      if (m !== undefined && (precision === undefined || precision === p)) out.set(p, normalizeModel(m));
    }
    if (out.size === 0) throw invalid(`precision '${precision}' was forced but no such variant was given (have ${Object.keys(model).join(', ')})`, 'precision');
  } else {
    out.set(precision ?? 'fp32', normalizeModel(model as ModelSource));
  }
  return out;
}

async function choices(provider: string, backend: string, variants: Map<Precision, Uint8Array | string>, features: ProviderFeatures, options: CreateSessionOptions): Promise<PrecisionChoice[]> {
  if (variants.size === 1) {
    const [p] = variants.keys() as IterableIterator<Precision>;
    const precision = p as Precision;
    return [{ precision, reason: options.precision ? `precision '${precision}' was asked for` : `the only variant given (assumed ${precision})` }];
  }
  const int8 = variants.get('int8');
  const fit = int8 !== undefined && backend === 'node' && provider === 'cpu' ? await int8Fit(int8) : undefined;
  return precisionOrder(provider, [...variants.keys()], features, options, fit);
}

/** Zeros shaped like the inputs (symbolic dims 1); undefined when an input's shape or type is unknown. */
function warmupFeeds(session: LocalSession): Feeds | undefined {
  const feeds: Record<string, ReturnType<typeof zerosTensor>> = {};
  for (const m of session.inputMetadata) {
    if (!m.type || !m.shape) return undefined;
    feeds[m.name] = zerosTensor(m.type, m.shape.map((d) => (typeof d === 'number' ? d : 1)));
  }
  return feeds;
}

function chainError(skipped: readonly ProviderSkip[], strict: boolean, defaultProvider: string): ForgeError {
  const list = skipped.map((s) => `${s.provider}${s.precision ? `/${s.precision}` : ''} (${s.phase}): ${s.error}`).join('; ');
  const modelFailed = skipped.some((s) => s.phase === 'create' || s.phase === 'first-run');
  const last = skipped[skipped.length - 1];
  if (strict && last) {
    return new ForgeError(
      last.phase === 'resolve' || last.phase === 'init' ? ForgeErrorCode.NO_PROVIDER : ForgeErrorCode.RUNTIME,
      `strict mode: provider ${last.provider} failed (${last.phase}): ${last.error}`,
      { details: { skipped: [...skipped] } },
    );
  }
  return modelFailed
    ? new ForgeError(ForgeErrorCode.RUNTIME, `onnxruntime could not load and run the model on any provider: ${list}`, { details: { skipped: [...skipped] } })
    : new ForgeError(ForgeErrorCode.NO_PROVIDER, `no execution provider could start here: ${list}; add '${defaultProvider}' as the last provider to always have one that works`, { details: { skipped: [...skipped] } });
}

