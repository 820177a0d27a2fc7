import { ForgeError, ForgeErrorCode, errorMessage, isForgeError } from '@onnx-forge/core';
import { badRequest, httpError, notFound } from '../http-error.js';
import { PathHider } from './client-text.js';
import { LoadedModel, type ServingOptions } from './loaded-model.js';
import { type ModelSpec, scanModels } from './model-source.js';

/** Model names a 404 for an unknown one lists (see someNames). */
const NAMES_SHOWN = 10;

/** States of the repository extension's index. */
export type ModelState = 'LOADING' | 'READY' | 'UNLOADING' | 'UNAVAILABLE';

export interface IndexEntry {
  name: string;
  /**
   * The version served; else the one loading, last loaded (unloaded) or that failed to load; else,
   * before any load, the highest on disk (the one a load would take). Absent only for a model with no version.
   */
  version?: string;
  state: ModelState;
  reason: string;
}

interface Entry {
  spec: ModelSpec;
  state: ModelState;
  reason: string;
  loaded: LoadedModel | undefined;
  /** The version last loaded or tried (see IndexEntry.version). */
  version: number | undefined;
  /** Why the last load failed, while the model is UNAVAILABLE because of it. */
  error: ForgeError | undefined;
  /**
   * While a reload hands over from the old version to the new (see loadNow): settles once the new one
   * serves, or the reload failed. Inference waits for it instead of being refused.
   */
  swap?: Promise<void>;
}

/**
 * The models of one repository and their state: loads every model at start, loads and unloads on
 * request (the repository extension) without a restart, and says whether everything asked for is
 * ready. A model is looked up for inference by name and, optionally, version.
 */
export class ModelRegistry {
  private readonly entries = new Map<string, Entry>();
  /**
   * Per model name, the end of the last load or unload asked for: each runs once the one before it has
   * settled, in the order they were asked, so two loads never build the same model at once (the second
   * would find the first's metrics registered and fail, and one of the two would leak its worker pools)
   * and an unload asked after a load is not overtaken by it.
   */
  private readonly queues = new Map<string, Promise<void>>();
  private closed = false;
  /** Messages that go to HTTP clients name files relative to the repository, never by their server path. */
  private readonly paths: PathHider;

  constructor(readonly source: string, private readonly options: ServingOptions, private readonly log: (line: string) => void = () => undefined) {
    this.paths = new PathHider(source);
  }

  /**
   * Finds the repository's models and loads them all. A model that fails stays UNAVAILABLE with its
   * reason; with `failFast` the first failure is thrown instead (with its own code: FORGE_INVALID_MODEL
   * for a file that is not ONNX, FORGE_RUNTIME when onnxruntime cannot load it) and is not logged, as
   * the caller reports it. Errors here go to whoever starts the server, so they keep the files' paths.
   */
  async loadAll(options: { failFast?: boolean } = {}): Promise<void> {
    const specs = await scanModels(this.source, (file, why) => this.log(`skipping ${file}: ${why}`));
    for (const spec of specs.values()) this.entries.set(spec.name, { spec, state: 'UNAVAILABLE', reason: 'not loaded yet', loaded: undefined, version: undefined, error: undefined });
    for (const name of specs.keys()) {
      if (options.failFast) await this.loadModel(name, false);
      else await this.loadModel(name, true).catch(() => undefined);
    }
  }

  /** Ready when at least one model is and none is loading, unloading or failed to load (an unloaded model does not count). */
  get ready(): boolean {
    if (this.closed) return false;
    let any = false;
    for (const e of this.entries.values()) {
      if (e.state === 'READY') any = true;
      else if (e.state === 'LOADING' || e.state === 'UNLOADING' || (e.state === 'UNAVAILABLE' && e.reason !== 'unloaded')) return false;
    }
    return any;
  }

  index(): IndexEntry[] {
    return [...this.entries.values()]
      .map((e) => {
        const version = e.loaded?.version.version ?? e.version ?? (e.spec.versions.length ? Math.max(...e.spec.versions) : undefined);
        return { name: e.spec.name, ...(version === undefined ? {} : { version: String(version) }), state: e.state, reason: e.reason };
      })
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * The index as the repository is now: the folder is read again (names and versions only: no manifest
   * or model file is opened), so a model added since the start is listed (UNAVAILABLE, 'not loaded') as
   * a load would find it, and a model no longer on disk is dropped, unless it is loaded (it keeps
   * serving from the files it opened, READY) or a load or unload of it is under way. A repository that
   * cannot be read as a whole (two models of one name) leaves the index as the server knows it.
   */
  async indexOnDisk(): Promise<IndexEntry[]> {
    let specs: Map<string, ModelSpec>;
    try {
      specs = await scanModels(this.source);
    } catch (e) {
      // The file or folder served is gone: nothing is on disk. Anything else is logged and the last view kept.
      const gone = isForgeError(e, ForgeErrorCode.IO) && (e.cause as { code?: unknown } | undefined)?.code === 'ENOENT';
      if (!gone) {
        this.log(`cannot read the repository again for the index: ${errorMessage(e)}`);
        return this.index();
      }
      specs = new Map();
    }
    for (const [name, e] of this.entries) {
      if (!specs.has(name) && !e.loaded && e.state === 'UNAVAILABLE' && !this.queues.has(name)) this.entries.delete(name);
    }
    const listed = this.index();
    for (const spec of specs.values()) {
      if (this.entries.has(spec.name)) continue;
      const version = spec.versions.length ? { version: String(Math.max(...spec.versions)) } : {};
      listed.push({ name: spec.name, ...version, state: 'UNAVAILABLE', reason: 'not loaded' });
    }
    return listed.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The errors of models that failed to load and are UNAVAILABLE because of it, by name. */
  failures(): Map<string, ForgeError> {
    const out = new Map<string, ForgeError>();
    for (const e of [...this.entries.values()].sort((a, b) => a.spec.name.localeCompare(b.spec.name))) {
      if (e.state === 'UNAVAILABLE' && e.error) out.set(e.spec.name, e.error);
    }
    return out;
  }

  /** Whether the repository has a model of this name (loaded or not), as the server last read it. */
  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** Loaded models, for metrics and shutdown. */
  loaded(): LoadedModel[] {
    return [...this.entries.values()].flatMap((e) => (e.loaded ? [e.loaded] : []));
  }

  /**
   * The model to answer a request: 404 for a name or version the repository does not have (or a
   * version other than the one loaded), 503 while the model is loading, unloading or failed to load.
   * The 503 of a model that failed to load carries the load error's code (FORGE_INVALID_MODEL,
   * FORGE_INVALID_GRAPH, FORGE_RUNTIME...), not FORGE_OVERLOADED: retrying will not help until it is
   * loaded again. Loading, unloading and unloaded answer FORGE_NOT_READY.
   */
  get(name: string, version?: string): LoadedModel {
    const e = this.entries.get(name);
    if (!e) throw notFound(`unknown model '${name}': this server has ${this.someNames()} (GET /v2/repository/index lists them)`, { model: name });
    if (version !== undefined) {
      const v = Number(version);
      if (!/^[1-9][0-9]*$/.test(version) || !e.spec.versions.includes(v)) {
        throw notFound(`model '${name}' has no version '${version}' (versions: ${e.spec.versions.join(', ')})`, { model: name, version });
      }
      if (e.loaded && e.loaded.version.version !== v) {
        throw notFound(`model '${name}' version ${version} is not loaded; version ${e.loaded.version.version} is served`, { model: name, version });
      }
    }
    if (e.state !== 'READY' || !e.loaded) {
      const failed = e.state === 'UNAVAILABLE' ? e.error : undefined;
      const message = `model '${name}' is not ready (${e.state.toLowerCase()}${e.reason ? `: ${e.reason}` : ''})`;
      throw httpError(503, failed?.code ?? ForgeErrorCode.NOT_READY, message, { model: name, state: e.state, ...(failed ? { loadError: failed.code } : {}) });
    }
    return e.loaded;
  }

  /**
   * The first names of the repository's models, for a 404: all of a large repository's would make
   * every mistyped (or scanned) name an answer of tens of kilobytes.
   */
  private someNames(): string {
    const names = [...this.entries.keys()].sort();
    if (names.length === 0) return 'no models';
    const shown = names.slice(0, NAMES_SHOWN).map((n) => `'${n}'`).join(', ');
    return names.length > NAMES_SHOWN ? `${shown} and ${names.length - NAMES_SHOWN} more` : shown;
  }

  /**
   * `get`, and the model held for the request (LoadedModel.admit) in the same step: an unload or reload
   * asked after this waits for `release` before it releases the model's pools.
   */
  acquire(name: string, version?: string): { model: LoadedModel; release: () => void } {
    const model = this.get(name, version);
    return { model, release: model.admit() };
  }

  /**
   * Settles when a reload of `name` under way has handed over to the new version (or failed), if one is
   * handing over now; else undefined. An inference request waits for it before `get`, so that it runs on
   * the new version rather than being refused meanwhile.
   */
  handover(name: string): Promise<void> | undefined {
    return this.entries.get(name)?.swap;
  }

  /**
   * Loads (or reloads) the highest version of a model, reading the repository again so that a model
   * added since the start (or a new version) is found. On a reload the old version keeps serving, READY,
   * until the new one is ready to (see loadNow); readiness never drops. What it throws goes to an HTTP client through the server's error
   * handler, which names files relative to the repository (`clientText`); the log keeps their paths.
   */
  async load(name: string): Promise<void> {
    return this.loadModel(name, true);
  }

  /** A message for an HTTP client: files named relative to the repository, never by their server path. */
  clientText(message: string): string {
    return this.paths.hide(message);
  }

  /** Runs `task` after every load and unload of `name` asked for before it has settled. */
  private inTurn<T>(name: string, task: () => Promise<T>): Promise<T> {
    const run = (this.queues.get(name) ?? Promise.resolve()).then(task);
    const settled = run.then(() => undefined, () => undefined);
    this.queues.set(name, settled);
    void settled.then(() => {
      if (this.queues.get(name) === settled) this.queues.delete(name);
    });
    return run;
  }

  private loadModel(name: string, logFailure: boolean): Promise<void> {
    if (this.closed) return Promise.reject(httpError(503, ForgeErrorCode.CANCELLED, 'the server is shutting down'));
    return this.inTurn(name, () => this.loadNow(name, logFailure));
  }

  private async loadNow(name: string, logFailure: boolean): Promise<void> {
    let skipped: string | undefined;
    const specs = await scanModels(this.source, (_file, why, skippedName) => {
      if (skippedName === name) skipped = why;
    });
    const spec = specs.get(name);
    // A file is there, but its name cannot be served (see scanModels): say why rather than that it is missing.
    if (!spec && skipped !== undefined) throw badRequest(`cannot load model '${name}': ${skipped}`, { model: name });
    // The name as the client gave it (its own input); the repository's path is the server's business.
    if (!spec) throw notFound(`the repository has no model '${name}'`, { model: name });
    let e = this.entries.get(name);
    if (!e) {
      e = { spec, state: 'UNAVAILABLE', reason: '', loaded: undefined, version: undefined, error: undefined };
      this.entries.set(name, e);
    }
    const entry = e;
    entry.spec = spec;
    const version = Math.max(...spec.versions);
    const old = entry.loaded;
    if (!old) {
      entry.version = version;
      entry.error = undefined;
      entry.state = 'LOADING';
      entry.reason = `loading version ${version}`;
    }
    const t0 = performance.now();
    // On a reload the old version serves while the new one's pools start and its batching is checked (the
    // slow part). Then, as the metrics registry takes one hybrid model per name, the old one finishes the
    // requests it holds and is released, and the new one's hybrid model is made and warmed up: the model
    // stays READY and new requests wait for the handover (handover()) instead of being refused.
    let retired = false;
    let handedOver: () => void = () => undefined;
    const retireOld = async () => {
      if (!old) return;
      retired = true;
      entry.swap = new Promise<void>((resolve) => (handedOver = resolve));
      await old.dispose().catch(() => undefined);
    };
    try {
      const v = await spec.readVersion(version);
      const model = await LoadedModel.load(spec, v, this.options, retireOld);
      entry.loaded = model;
      entry.version = version;
      entry.error = undefined;
      entry.state = 'READY';
      entry.reason = '';
      this.log(`loaded ${name} version ${version} (${v.variants.map((x) => x.name).join(', ')}${model.batchDim ? `; batching on '${model.batchDim}'` : ''}${model.batchingReason ? `; ${model.batchingReason}` : ''}) in ${Math.round(performance.now() - t0)} ms`);
    } catch (err) {
      // The load error's own code: FORGE_INVALID_MODEL for a file that is not ONNX, FORGE_RUNTIME
      // when onnxruntime cannot load a valid one (see loadFailure). The reason shows in the index, so
      // it names files relative to the repository.
      const code = isForgeError(err) ? err.code : ForgeErrorCode.RUNTIME;
      const failure = httpError(400, code, `cannot load model '${name}' version ${version}: ${errorMessage(err)}`, { ...(isForgeError(err) ? err.details : {}), model: name, version }, err);
      if (!entry.loaded || retired) {
        // The old version was released for the new one, which then failed: nothing serves.
        entry.loaded = undefined;
        entry.version = version;
        entry.error = failure;
        entry.state = 'UNAVAILABLE';
        entry.reason = `failed to load: ${this.paths.hide(errorMessage(err))}`;
      }
      if (logFailure) this.log(`cannot load ${name}: ${errorMessage(err)}`);
      throw failure;
    } finally {
      entry.swap = undefined;
      handedOver();
    }
  }

  /** Stops serving a model: new requests get 503 at once, those in flight finish, then its pools are released. */
  unload(name: string): Promise<void> {
    // In turn, and looked up then: a load asked for just before may be what adds the model.
    return this.inTurn(name, () => this.unloadNow(name));
  }

  private async unloadNow(name: string): Promise<void> {
    const e = this.entries.get(name);
    if (!e) throw notFound(`unknown model '${name}'`, { model: name });
    const model = e.loaded;
    if (model) e.version = model.version.version;
    e.loaded = undefined;
    e.error = undefined;
    e.state = 'UNLOADING';
    e.reason = 'finishing requests in flight';
    if (model) await model.dispose().catch(() => undefined);
    e.state = 'UNAVAILABLE';
    e.reason = 'unloaded';
  }

  /** Unloads everything (after the HTTP server stopped taking requests). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.entries.keys()].map((n) => this.unload(n)));
  }
}
