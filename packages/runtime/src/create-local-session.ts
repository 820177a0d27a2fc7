import { ForgeError, ForgeErrorCode, errorMessage, isForgeError, nullThrows } from '@onnx-forge/core';
import type { ProviderFeatures } from './backend.js';
import { resolveBackendReporting } from './backend-registry.js';
import { systemClock } from './clock.js';
import { type CreateSessionOptions, CREATE_OPTION_KEYS, validateCreateOptions, validateProviders } from './create-session-options.js';
import { type ModelHazards, findModelHazards } from './model-hazards.js';
import { int8Fit } from './int8-fit.js';
import { LocalSession } from './local-session.js';
import { type ModelSource, type ModelVariants, type PreparedModel, isModelVariants, normalizeModel, prepareModel } from './model-source.js';
import { type PrecisionChoice, precisionOrder } from './precision.js';
import { type ProviderConfig, providerName } from './provider-config.js';
import { initProviderOnce } from './provider-init.js';
import { type ValidatedSessionOptions, validateSessionOptions } from './session-options.js';
import { treeDepthError } from './tree-depth-hazard.js';
import { elementCount, zerosTensor } from './tensor.js';
import type { Feeds, Precision, ProviderSkip, SessionEvent, SkipPhase } from './types.js';

/**
 * Loads a model in this thread: resolves the backend, walks the provider chain (resolve, init, create,
 * first run) and, for precision variants, the precision order on each provider. The uncached path of
 * createSession; the session cache and pool workers call it directly.
 */
export async function createLocalSession(model: ModelSource | ModelVariants, options: CreateSessionOptions = {}): Promise<LocalSession> {
  validateCreateOptions(options);
  const clock = options.clock ?? systemClock;
  const { backend, skipped: skippedBackends } = await resolveBackendReporting(options.backend, options.probe === undefined ? {} : { probe: options.probe });
  const validated = await validateSessionOptions(options, backend.name, CREATE_OPTION_KEYS);
  const providers = validateProviders(options.providers, backend.defaultProvider);
  const variants = normalizeVariants(model, options.precision);
  const started = clock.now();
  const skipped: ProviderSkip[] = [];
  const prepared = new Map<Precision, Promise<PreparedModel>>();
  const hazards = new Map<Precision, Promise<ModelHazards>>();

  const skip = (provider: string, phase: SkipPhase, error: string, ms: number, extra: { precision?: Precision; remembered?: boolean } = {}) => {
    const s: ProviderSkip = { provider, phase, error: error.trim(), ms, ...extra };
    skipped.push(s);
    options.onEvent?.({ type: 'skip', ...s });
    if (options.strict) throw chainError(skipped, true, backend.defaultProvider);
  };

  /**
   * A warm-up on guessed feeds (free dims 1) failed on `provider`: was it the guess? The default
   * provider (the reference every chain falls back to) runs the guess, then larger free dims: when it
   * runs the guess itself, the provider is at fault (undefined); when it runs larger ones, those are the
   * feeds to warm the provider with; when it runs none and fails as the provider did, or the provider
   * is the default one, the guess cannot be made to fit ('keep': no reason to skip the provider). A
   * model whose free dims cannot be 1 (a convolution window over a signal, openWakeWord's
   * melspectrogram) is then no reason to skip a provider or to refuse the model.
   */
  const refit = async (e: unknown, provider: string, loaded: PreparedModel, precision: Precision): Promise<Feeds | 'keep' | undefined> => {
    if (provider === backend.defaultProvider) return 'keep';
    if (!(await initProviderOnce(backend, backend.defaultProvider, clock)).ok) return undefined;
    let reference: LocalSession | undefined;
    try {
      const handle = await backend.createSession(loaded.model, sessionOptions(validated, backend.defaultProvider, loaded.externalData));
      reference = new LocalSession(handle, { backend, provider: backend.defaultProvider, precision, precisionReason: '', skipped: [], clock });
      let first = true;
      let sameError = false;
      for (const sizes of guessSizes(reference)) {
        const feeds = warmupFeeds(reference, sizes);
        if (!feeds) continue;
        try {
          await reference.run(feeds);
          return first ? undefined : feeds;
        } catch (r) {
          if (first) sameError = onnxruntimeMessage(r) === onnxruntimeMessage(e);
        }
        first = false;
      }
      return sameError ? 'keep' : undefined;
    } catch {
      return undefined;
    } finally {
      await reference?.release().catch(() => undefined);
    }
  };

  for (const [pi, provider] of providers.entries()) {
    const name = providerName(provider);
    const hasFallback = pi < providers.length - 1;
    let t = clock.now();
    const unavailable = await backend.resolveProvider(name);
    if (unavailable !== undefined) {
      skip(name, 'resolve', unavailable, clock.now() - t);
      continue;
    }
    const init = await initProviderOnce(backend, provider, clock);
    if (!init.ok) {
      skip(name, 'init', init.error, init.ms, init.remembered ? { remembered: true } : {});
      continue;
    }
    const features = await backend.providerFeatures(name);
    const order = await choices(name, backend.name, variants, features, options);
    for (const [ci, choice] of order.entries()) {
      const source = nullThrows(variants.get(choice.precision), `the precision order offered ${choice.precision}, a variant that was not given`);
      let h = hazards.get(choice.precision);
      if (!h) hazards.set(choice.precision, (h = findModelHazards(source)));
      // Read before onnxruntime loads the model: what would end the process is refused here.
      const { emptyInput: hazard, deepTree } = await h;
      if (deepTree) throw treeDepthError(deepTree);
      t = clock.now();
      let handle;
      let fromPath = false;
      let loaded: PreparedModel | undefined;
      try {
        let prep = prepared.get(choice.precision);
        if (!prep) prepared.set(choice.precision, (prep = prepareModel(source, backend, validated)));
        loaded = await prep;
        fromPath = typeof loaded.model === 'string';
        handle = await backend.createSession(loaded.model, sessionOptions(validated, provider, loaded.externalData));
      } catch (e) {
        if (isInputError(e)) throw e;
        skip(name, 'create', createMessage(e, fromPath), clock.now() - t, { precision: choice.precision });
        continue;
      }
      const session = new LocalSession(handle, { backend, provider: name, precision: choice.precision, precisionReason: choice.reason, skipped, exclusiveRuns: features.exclusiveRuns === true, thread: features.thread, clock, emptyInputHazard: hazard });
      let firstRunMs: number | undefined;
      const warm = options.warmup ?? (hasFallback || ci < order.length - 1);
      if (warm !== false) {
        const feeds = warm === true ? warmupFeeds(session) : warm;
        if (feeds) {
          t = clock.now();
          try {
            await session.run(feeds);
            firstRunMs = clock.now() - t;
          } catch (e) {
            let failure = e;
            let failedMs = clock.now() - t;
            let kept = false;
            // Zeros shaped by guess (free dims 1) may be what the model cannot run, on any provider.
            const fit = warm === true ? await refit(e, name, nullThrows(loaded, 'the session was created from a prepared model'), choice.precision) : undefined;
            if (fit === 'keep') kept = true;
            else if (fit !== undefined) {
              t = clock.now();
              try {
                await session.run(fit);
                firstRunMs = clock.now() - t;
                kept = true;
              } catch (again) {
                failure = again;
                failedMs = clock.now() - t;
              }
            }
            if (!kept) {
              await session.release().catch(() => undefined);
              // Feeds the caller chose for the warm-up are the caller's mistake, not the provider's.
              if (typeof warm === 'object' && isForgeError(failure, ForgeErrorCode.BAD_INPUT)) throw failure;
              skip(name, 'first-run', errorMessage(failure), failedMs, { precision: choice.precision });
              continue;
            }
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
        ...(skippedBackends.length > 0 ? { skippedBackends } : {}),
        createMs: clock.now() - started,
        ...(firstRunMs === undefined ? {} : { firstRunMs }),
      });
      return session;
    }
  }
  throw chainError(skipped, false, backend.defaultProvider);
}

/** onnxruntime's own words in a failed run (LocalSession wraps them, naming the provider). */
function onnxruntimeMessage(e: unknown): string {
  return errorMessage(isForgeError(e, ForgeErrorCode.RUNTIME) && e.cause !== undefined ? e.cause : e);
}

/** Errors that are the caller's, not the provider's: never a reason to try the next provider. */
function isInputError(e: unknown): boolean {
  return e instanceof ForgeError && ([ForgeErrorCode.IO, ForgeErrorCode.EXTERNAL_DATA, ForgeErrorCode.INVALID_OPTIONS, ForgeErrorCode.MODEL_TOO_LARGE] as string[]).includes(e.code);
}

/**
 * onnxruntime's error, with a hint when it is about external data of a model given as bytes (from
 * a path, onnxruntime finds the files itself: what it refuses there, such as a location outside the
 * model's folder, no externalDataDir would fix).
 */
function createMessage(e: unknown, fromPath: boolean): string {
  const msg = errorMessage(e);
  if (!fromPath && /external (data|initializer)|GetExtDataFromTensorProto|external_data/i.test(msg)) {
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
    out.set(precision ?? 'fp32', normalizeModel(model));
  }
  return out;
}

async function choices(provider: string, backend: string, variants: Map<Precision, Uint8Array | string>, features: ProviderFeatures, options: CreateSessionOptions): Promise<PrecisionChoice[]> {
  if (variants.size === 1) {
    const precision = nullThrows([...variants.keys()][0], 'normalizeVariants returns at least one variant');
    return [{ precision, reason: options.precision ? `precision '${precision}' was asked for` : `the only variant given (assumed ${precision})` }];
  }
  const int8 = variants.get('int8');
  const fit = int8 !== undefined && backend === 'node' && provider === 'cpu' ? await int8Fit(int8) : undefined;
  return precisionOrder(provider, [...variants.keys()], features, options, fit);
}

/** No guessed warm-up input holds more elements than this. */
const GUESS_MAX_ELEMENTS = 1 << 22;

/**
 * The sizes of the symbolic dims a warm-up tries on the default provider (see refit): all 1 (the
 * guess), then 32, 512 and 4096 for each symbolic dim alone (a signal's length, a sequence) and for
 * all of them at once. A dim without a name ('' or -1 in the model) counts as one of its own.
 */
function* guessSizes(session: LocalSession): Generator<(dim: string, at: string) => number> {
  yield () => 1;
  const names = new Set<string>();
  for (const m of session.inputMetadata) m.shape?.forEach((d, i) => typeof d === 'string' && names.add(d || `${m.name}#${i}`));
  for (const size of [32, 512, 4096]) {
    for (const name of names) yield (dim, at) => ((dim || at) === name ? size : 1);
    if (names.size > 1) yield () => size;
  }
}

/**
 * Zeros shaped like the inputs, each symbolic dim sized by `sizes` (default 1); undefined when an
 * input's shape or type is unknown, or when an input would pass GUESS_MAX_ELEMENTS.
 */
function warmupFeeds(session: LocalSession, sizes: (dim: string, at: string) => number = () => 1): Feeds | undefined {
  const feeds: Record<string, ReturnType<typeof zerosTensor>> = {};
  for (const m of session.inputMetadata) {
    if (!m.type || !m.shape) return undefined;
    const dims = m.shape.map((d, i) => (typeof d === 'number' ? d : sizes(d, `${m.name}#${i}`)));
    if (elementCount(dims) > GUESS_MAX_ELEMENTS) return undefined;
    feeds[m.name] = zerosTensor(m.type, dims);
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

function invalid(message: string, option: string): ForgeError {
  return new ForgeError(ForgeErrorCode.INVALID_OPTIONS, message, { details: { option } });
}
