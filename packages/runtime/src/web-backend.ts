import { ForgeError, ForgeErrorCode, Model, errorMessage, firstFloat16Compute, firstJsepMiscompute } from '@onnx-forge/core';
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
 *
 * WebGPU, as run in Chromium on SwiftShader (a real adapter without 'shader-f16'): a browser whose
 * navigator.gpu gives no adapter is skipped before onnxruntime is asked (its own error then blames a
 * flag that is on by default), and a model that computes in float16 is refused on an adapter without
 * 'shader-f16', because onnxruntime-web would create the session and answer zeros (its float16 shaders
 * fail to compile, which it reports only on the console). A model with a node that onnxruntime-web's
 * WebGPU (JSEP) computes wrong (core's firstJsepMiscompute: 8-bit DequantizeLinear with one scale,
 * uint8 with a zero point, MatMulNBits with large blocks; Python quantizers write the first two) is
 * refused on webgpu too: it would load and answer wrong values, and poison later sessions of the page.
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

/** What the runtime reads of a GPUAdapter or GPUDevice (no @webgpu/types here). */
interface GpuFeatures {
  readonly features: { has(feature: string): boolean };
}

function navigatorGpu(): { requestAdapter(): Promise<GpuFeatures | null> } | undefined {
  return (globalThis as unknown as { navigator?: { gpu?: { requestAdapter(): Promise<GpuFeatures | null> } } }).navigator?.gpu;
}

class WebBackend implements RuntimeBackend {
  readonly name = 'web';
  readonly defaultProvider = 'wasm';
  readonly acceptsPaths = !isNode;
  /** shader-f16 as an adapter of navigator.gpu offers it (before onnxruntime started WebGPU). */
  private adapterF16: Promise<boolean | undefined> | undefined;
  /** shader-f16 as the device onnxruntime runs WebGPU on has it (once it started). */
  private deviceF16: Promise<boolean | undefined> | undefined;
  private webgpuStarted = false;

  constructor(private readonly ort: typeof OrtWeb) {}

  async resolveProvider(provider: string): Promise<string | undefined> {
    const available = webProviders();
    if (!available.includes(provider)) {
      return isNode
        ? `onnxruntime-web in Node has only the wasm backend; '${provider}' needs a browser (or use the node backend)`
        : `this browser does not offer '${provider}' (available: ${available.join(', ')})`;
    }
    return provider === 'webgpu' ? this.webgpuAdapterProblem() : undefined;
  }

  async initProvider(provider: ProviderConfig): Promise<void> {
    try {
      const session = await this.ort.InferenceSession.create(probeModel(), { executionProviders: [provider as OrtWeb.InferenceSession.ExecutionProviderConfig] });
      await session.release();
      if (providerName(provider) === 'webgpu') this.webgpuStarted = true;
    } finally {
      if (['wasm', 'cpu'].includes(providerName(provider))) initialized = true;
    }
  }

  async createSession(model: Uint8Array | string, options: OrtSessionOptions): Promise<BackendSession> {
    const first = options.executionProviders?.[0];
    const input = first !== undefined && providerName(first) === 'webgpu' ? await this.refuseWhatWebGpuMiscomputes(model, options) : model;
    const session = await createOrtSession(this.ort, input, options);
    initialized = true;
    return session;
  }

  /**
   * Why WebGPU cannot start although navigator.gpu is there: no adapter (no usable GPU, the GPU
   * disabled or blocklisted). Undefined when there is one, or when the page gave onnxruntime its own.
   */
  private async webgpuAdapterProblem(): Promise<string | undefined> {
    if (this.webgpuStarted || (this.ort.env.webgpu as { adapter?: unknown }).adapter) return undefined;
    const gpu = navigatorGpu();
    if (!gpu) return 'this browser has no navigator.gpu';
    try {
      if (await gpu.requestAdapter()) return undefined;
      return 'this browser has WebGPU but gives no adapter (navigator.gpu.requestAdapter() answered null: no usable GPU, or the GPU is disabled or blocklisted)';
    } catch (e) {
      return `this browser's WebGPU adapter request failed: ${errorMessage(e)}`;
    }
  }

  /** Whether WebGPU here has shader-f16: the device onnxruntime uses once started, else an adapter of navigator.gpu. */
  private shaderF16(): Promise<boolean | undefined> {
    if (this.webgpuStarted) {
      // Typed as a promise, but onnxruntime-web gives the GPUDevice itself once WebGPU has started.
      this.deviceF16 ??= (async () => (await (this.ort.env.webgpu.device as unknown as GpuFeatures | Promise<GpuFeatures>)).features.has('shader-f16'))().catch(() => undefined);
      return this.deviceF16;
    }
    this.adapterF16 ??= (async () => {
      const adapter = await navigatorGpu()?.requestAdapter().catch(() => null);
      return adapter ? adapter.features.has('shader-f16') : undefined;
    })();
    return this.adapterF16;
  }

  /**
   * The model for a WebGPU session (bytes, read here when given as a URL), or a rejection when
   * onnxruntime-web would create the session and answer wrong: a node its JSEP WebGPU computes wrong,
   * or float16 compute on an adapter without shader-f16 (zeros).
   */
  private async refuseWhatWebGpuMiscomputes(model: Uint8Array | string, options: OrtSessionOptions): Promise<Uint8Array | string> {
    const bytes = typeof model === 'string' ? await fetchModel(model) : model;
    let decoded: Model;
    try {
      decoded = Model.decode(bytes);
    } catch {
      return bytes; // not a model core reads: onnxruntime's own error says what is wrong with it
    }
    const wrong = firstJsepMiscompute(decoded);
    if (wrong) {
      throw new ForgeError(
        ForgeErrorCode.UNSUPPORTED_OP,
        `onnxruntime-web's WebGPU computes ${wrong.opType} node '${wrong.node}' wrong (${wrong.why}): the session would load and answer wrong values; run this model on another provider, or make a webgpu form of it (onnx-forge quantize --target webgpu)`,
        { details: { provider: 'webgpu', node: wrong.node, opType: wrong.opType } },
      );
    }
    if ((await this.shaderF16()) !== false) return bytes;
    const found = firstFloat16Compute(decoded, { foldsConstants: options.graphOptimizationLevel !== 'disabled' });
    if (!found) return bytes;
    throw new ForgeError(
      ForgeErrorCode.UNSUPPORTED_TYPE,
      `the WebGPU adapter lacks shader-f16, and ${found.opType} node '${found.node}' computes in float16 (${found.value}): onnxruntime-web's float16 WebGPU shaders do not compile without it, and the session would load and answer zeros; use a float32 variant on webgpu here, or another provider`,
      { details: { provider: 'webgpu', node: found.node, opType: found.opType, value: found.value } },
    );
  }

  toTensor(t: TensorLike): unknown {
    return toOrtTensor(this.ort, t);
  }

  async providerFeatures(provider: string): Promise<ProviderFeatures> {
    if (provider === 'webnn') return { fp16Native: false, exclusiveRuns: true };
    if (provider !== 'webgpu') return { fp16Native: false };
    const f16 = await this.shaderF16();
    return { fp16Native: f16, exclusiveRuns: true, note: f16 === undefined ? 'no WebGPU adapter to ask for shader-f16' : f16 ? 'the adapter has shader-f16' : 'the adapter lacks shader-f16' };
  }
}

/** A model given to a browser session by URL, read once here (onnxruntime would fetch it the same way). */
async function fetchModel(url: string): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new ForgeError(ForgeErrorCode.IO, `could not fetch the model ${url}: ${errorMessage(e)}`, { cause: e });
  }
  if (!response.ok) throw new ForgeError(ForgeErrorCode.IO, `could not fetch the model ${url}: HTTP ${response.status} ${response.statusText}`);
  return new Uint8Array(await response.arrayBuffer());
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
