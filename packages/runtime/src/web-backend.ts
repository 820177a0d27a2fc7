import { ForgeError, ForgeErrorCode } from '@onnx-forge/core';
import type * as OrtWeb from 'onnxruntime-web';
import { type BackendFactory, type BackendSession, type ProviderFeatures, type RuntimeBackend, createOrtSession, toOrtTensor } from './backend.js';
import { probeModel } from './probe-model.js';
import { type ProviderConfig, providerName } from './provider-config.js';
import type { OrtSessionOptions } from './session-options.js';
import type { TensorLike } from './types.js';

/**
 * onnxruntime-web: WebAssembly everywhere, plus WebGPU/WebNN/WebGL in browsers that have them. Its
 * Node build registers only `wasm` and `cpu` (an alias of wasm); `webgpu` is "backend not found" there.
 * WebAssembly settings are global and frozen once the first session initializes the wasm module, and
 * a failed initialization is permanent for the page or process, hence `configureWebBackend`.
 */

const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';

export interface WebBackendConfig {
  /**
   * WebAssembly threads. Default in Node: 1, because parallelism in Node comes from the worker pool and
   * each extra wasm thread costs a pthread worker, started with the first session (which then takes
   * much longer to create). In browsers onnxruntime's own default applies (needs cross-origin isolation).
   */
  numThreads?: number;
  /** Where the .wasm files are served from (browsers; in Node they resolve from node_modules). */
  wasmPaths?: string | Record<string, string>;
}

let config: WebBackendConfig = {};
let ortPromise: Promise<typeof OrtWeb> | undefined;
let loaded: typeof OrtWeb | undefined;
let initialized = false;

/** Sets global WebAssembly options; must run before the first web session is created. */
export function configureWebBackend(next: WebBackendConfig): void {
  if (initialized) {
    throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, 'onnxruntime-web is already initialized: its WebAssembly options are frozen for this process; call configureWebBackend before creating the first web session');
  }
  if (next.numThreads !== undefined && (!Number.isInteger(next.numThreads) || next.numThreads < 1 || next.numThreads > 64)) {
    throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `numThreads must be an integer from 1 to 64, got ${next.numThreads}`);
  }
  config = { ...config, ...next };
  // The module may be loaded already (resolving the backend loads it); its settings still apply
  // until the WebAssembly module starts with the first session.
  if (loaded) applyConfig(loaded);
}

function applyConfig(ort: typeof OrtWeb): void {
  const wasm = ort.env.wasm;
  if (config.numThreads !== undefined) wasm.numThreads = config.numThreads;
  else if (isNode && wasm.numThreads === undefined) wasm.numThreads = 1;
  if (config.wasmPaths !== undefined) wasm.wasmPaths = config.wasmPaths;
}

export function loadOrtWeb(): Promise<typeof OrtWeb> {
  ortPromise ??= import('onnxruntime-web').then((ort) => {
    applyConfig(ort);
    loaded = ort;
    return ort;
  });
  return ortPromise;
}

function webProviders(): string[] {
  if (isNode) return ['wasm', 'cpu'];
  const nav = ((globalThis as unknown as { navigator?: object }).navigator ?? {}) as object;
  return ['wasm', 'cpu', ...('gpu' in nav ? ['webgpu'] : []), ...('ml' in nav ? ['webnn'] : []), 'webgl'];
}

class WebBackend implements RuntimeBackend {
  readonly name = 'web';
  readonly defaultProvider = 'wasm';
  readonly acceptsPaths = !isNode;
  private shaderF16: Promise<boolean | undefined> | undefined;

  constructor(private readonly ort: typeof OrtWeb) {}

  async resolveProvider(provider: string): Promise<string | undefined> {
    const available = webProviders();
    if (available.includes(provider)) return undefined;
    return isNode
      ? `onnxruntime-web in Node has only the wasm backend; '${provider}' needs a browser (or use the node backend)`
      : `this browser does not offer '${provider}' (available: ${available.join(', ')})`;
  }

  async initProvider(provider: ProviderConfig): Promise<void> {
    try {
      const session = await this.ort.InferenceSession.create(probeModel(), { executionProviders: [provider as OrtWeb.InferenceSession.ExecutionProviderConfig] });
      await session.release();
    } finally {
      if (['wasm', 'cpu'].includes(providerName(provider))) initialized = true;
    }
  }

  async createSession(model: Uint8Array | string, options: OrtSessionOptions): Promise<BackendSession> {
    const session = await createOrtSession(this.ort, model, options);
    initialized = true;
    return session;
  }

  toTensor(t: TensorLike): unknown {
    return toOrtTensor(this.ort, t);
  }

  async providerFeatures(provider: string): Promise<ProviderFeatures> {
    if (provider === 'webnn') return { fp16Native: false, exclusiveRuns: true };
    if (provider !== 'webgpu') return { fp16Native: false };
    this.shaderF16 ??= (async () => {
      const gpu = (globalThis as unknown as { navigator?: { gpu?: { requestAdapter(): Promise<{ features: Set<string> } | null> } } }).navigator?.gpu;
      const adapter = await gpu?.requestAdapter().catch(() => null);
      return adapter ? adapter.features.has('shader-f16') : undefined;
    })();
    const f16 = await this.shaderF16;
    return { fp16Native: f16, exclusiveRuns: true, note: f16 === undefined ? 'no WebGPU adapter to ask for shader-f16' : f16 ? 'the adapter has shader-f16' : 'the adapter lacks shader-f16' };
  }
}

let instance: WebBackend | undefined;

/** Loads onnxruntime-web and gives the factory of the (one) web backend. */
export async function loadWebBackend(): Promise<BackendFactory> {
  const ort = await loadOrtWeb();
  return (options) => {
    if (options.probe === 'child-process') {
      throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, "probe: 'child-process' is for the node backend", { details: { option: 'probe' } });
    }
    instance ??= new WebBackend(ort);
    return instance;
  };
}
