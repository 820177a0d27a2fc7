import { ForgeError, ForgeErrorCode } from '@onnx-forge/core';
import type { ProviderConfig } from './provider-config.js';
import type { OrtSessionOptions } from './session-options.js';
import type { OutputTensor, TensorLike, ValueInfo } from './types.js';

/**
 * What the session layer needs from an onnxruntime build. Two implementations ship (onnxruntime-node
 * and onnxruntime-web); tests and embedders can pass their own object (e.g. one wrapping a real
 * backend with a provider that fails on its first run), in the way clocks and loaders are injected.
 */

/** A created onnxruntime session, reduced to what the runtime uses. */
export interface BackendSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly ValueInfo[];
  readonly outputMetadata: readonly ValueInfo[];
  /** `feeds` are the backend's own tensors (from `toTensor`). */
  run(feeds: Record<string, unknown>, fetches?: readonly string[]): Promise<Record<string, OutputTensor>>;
  release(): Promise<void>;
}

export interface ProviderFeatures {
  /** The provider runs fp16 kernels natively (true), emulates them (false), or cannot tell (undefined). */
  readonly fp16Native?: boolean;
  /**
   * Runs on one session must not overlap: onnxruntime-web's WebGPU (and WebNN) sessions throw "Session
   * already started" when a run begins before the previous one ended (transformers.js #909). Sessions
   * on such a provider queue their runs.
   */
  readonly exclusiveRuns?: boolean;
  /**
   * Runs of every session on the provider execute one at a time on the JavaScript thread, in the order
   * they were issued: onnxruntime-node runs each call synchronously in a setImmediate, so runs issued
   * together only seem to start together, and each one's time held the runs ahead of it. They are not
   * queued (a turn of the event loop per run would cut the throughput of small models several times)
   * but timed as they run: from the later of their issue and the end of the run ahead on the thread.
   */
  readonly thread?: RunThread;
  readonly note?: string;
}

/** When the last run on a thread ended, per clock that timed it (see ProviderFeatures.thread). */
export interface RunThread {
  readonly ends: WeakMap<object, number>;
}

export interface RuntimeBackend {
  /** 'node', 'web', or a custom name (part of the session cache key). */
  readonly name: string;
  /** The provider that needs nothing to start ('cpu' for node, 'wasm' for web). */
  readonly defaultProvider: string;
  /** Whether model file paths can be handed to onnxruntime (which then reads external data next to them). */
  readonly acceptsPaths: boolean;
  /** Resolve phase: undefined when the provider can be tried here, else why it cannot (no side effects). */
  resolveProvider(provider: string): Promise<string | undefined>;
  /**
   * Init phase: start the provider once, independent of any model (a tiny probe model). Rejects when it
   * cannot start. Callers memoize the outcome per backend and provider, as onnxruntime does itself.
   */
  initProvider(provider: ProviderConfig): Promise<void>;
  /** Create phase. `model` is bytes, or a path when `acceptsPaths`. */
  createSession(model: Uint8Array | string, options: OrtSessionOptions): Promise<BackendSession>;
  /** Wraps a validated tensor in the backend's Tensor class (its own tensors pass through). */
  toTensor(t: TensorLike): unknown;
  /** What the provider does with fp16 (for the automatic precision choice). */
  providerFeatures(provider: string): Promise<ProviderFeatures>;
}

/** How a session asks for a backend, beyond its name. */
export interface BackendOptions {
  /** Node backend: start GPU providers in a child process first (see NodeBackendOptions). */
  readonly probe?: 'in-process' | 'child-process';
}

/**
 * Makes the backend for a session's options, once the backend's module (and the onnxruntime build it
 * wraps) has loaded. Options a backend cannot honour are an INVALID_OPTIONS error.
 */
export type BackendFactory = (options: BackendOptions) => RuntimeBackend;

/**
 * Imports a backend's module and whatever it needs to run (an onnxruntime build and its binding), and
 * gives the backend, or a factory that makes it for a session's options. Called once per process
 * (see registerBackend); a rejection means the backend cannot start here and says why.
 */
export type BackendLoader = () => Promise<RuntimeBackend | BackendFactory>;

/** The largest dim taken as fixed in onnxruntime's metadata; past it, a dynamic dim's -1 read unsigned. */
const MAX_FIXED_DIM = 2 ** 31 - 1;

/** Converts onnxruntime's value metadata into ValueInfo (an empty shape means "not declared" in both builds). */
export function toValueInfo(names: readonly string[], metadata: readonly unknown[] | undefined): ValueInfo[] {
  return names.map((name, i) => {
    const m = metadata?.[i] as { isTensor?: boolean; type?: string; shape?: readonly (number | string)[] } | undefined;
    if (!m || m.isTensor === false) return { name, type: undefined, shape: undefined };
    // onnxruntime reports both "scalar" and "rank unknown" as []: treat it as unknown rather than reject real feeds.
    // A dim without a name is dynamic: onnxruntime-node reports it as "" (or -1), onnxruntime-web as -1
    // read unsigned, 4294967295; no fixed dim is that large.
    const shape = m.shape && m.shape.length > 0 ? m.shape.map((d) => (typeof d === 'number' && (d < 0 || d > MAX_FIXED_DIM) ? '' : d)) : undefined;
    return { name, type: m.type as ValueInfo['type'], shape };
  });
}

/** What the InferenceSession of both onnxruntime builds offers (their types differ only in the Tensor class). */
export interface OrtInferenceSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly unknown[];
  readonly outputMetadata: readonly unknown[];
  run(feeds: never, fetches: never): Promise<unknown>;
  run(feeds: never): Promise<unknown>;
  release(): Promise<void>;
}

/**
 * An onnxruntime-node or onnxruntime-web session as the runtime's BackendSession.
 *
 * onnxruntime's JavaScript builds return tensors only: a run that fetches a sequence or map output
 * (ZipMap's probabilities of a scikit-learn classifier, a Loop's sequence) rejects with "Non tensor
 * type is temporarily not supported", although the model loads and its tensor outputs compute. A run
 * that names no outputs therefore fetches the tensor ones (the others stay listed in outputMetadata,
 * with type undefined), and one that names a non-tensor output is refused saying why.
 */
export function wrapSession(session: OrtInferenceSession): BackendSession {
  const run = session.run.bind(session) as (feeds: Record<string, unknown>, fetches?: readonly string[]) => Promise<unknown>;
  const isTensor = session.outputNames.map((_, i) => (session.outputMetadata?.[i] as { isTensor?: boolean } | undefined)?.isTensor !== false);
  const containers = session.outputNames.filter((_, i) => !isTensor[i]);
  const tensors = session.outputNames.filter((_, i) => isTensor[i]);
  const fetchesFor = (fetches: readonly string[] | undefined): readonly string[] | undefined => {
    const asked = fetches ?? (containers.length ? tensors : undefined);
    const container = (fetches ?? (tensors.length ? [] : containers)).find((o) => containers.includes(o));
    if (container !== undefined) {
      throw new ForgeError(
        ForgeErrorCode.UNSUPPORTED_TYPE,
        `output '${container}' is not a tensor (a sequence or map), which onnxruntime's JavaScript builds cannot return; ${tensors.length ? `its tensor outputs (${tensors.map((t) => `'${t}'`).join(', ')}) can be fetched` : 'the model has no tensor output to fetch'}`,
        { details: { output: container } },
      );
    }
    return asked;
  };
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    inputMetadata: toValueInfo(session.inputNames, session.inputMetadata),
    outputMetadata: toValueInfo(session.outputNames, session.outputMetadata),
    run: (feeds, fetches) => {
      let asked: readonly string[] | undefined;
      try {
        asked = fetchesFor(fetches);
      } catch (e) {
        return Promise.reject(e);
      }
      return (asked ? run(feeds, asked) : run(feeds)) as Promise<Record<string, OutputTensor>>;
    },
    release: () => session.release(),
  };
}

/**
 * What creating sessions and tensors needs of an onnxruntime build. onnxruntime-node and -web both
 * offer it (onnxruntime-common's API), each with its own Tensor class, so the two backends share the
 * code below.
 */
export interface OrtBuild {
  readonly InferenceSession: {
    create(path: string, options?: never): Promise<OrtInferenceSession>;
    create(bytes: Uint8Array, options?: never): Promise<OrtInferenceSession>;
  };
  readonly Tensor: new (type: never, data: never, dims: readonly number[]) => unknown;
}

/** A session of `ort` on a model's bytes or path, as the runtime's BackendSession. */
export async function createOrtSession(ort: OrtBuild, model: Uint8Array | string, options: OrtSessionOptions): Promise<BackendSession> {
  const opts = options as never;
  const session = typeof model === 'string' ? await ort.InferenceSession.create(model, opts) : await ort.InferenceSession.create(model, opts);
  return wrapSession(session);
}

/** A validated tensor in `ort`'s own Tensor class (tensors of that class pass through). */
export function toOrtTensor(ort: OrtBuild, t: TensorLike): unknown {
  if (t instanceof ort.Tensor) return t;
  return new ort.Tensor(t.type as never, t.data as never, t.dims);
}
