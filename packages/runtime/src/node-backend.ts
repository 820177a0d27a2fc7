import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as OrtNode from 'onnxruntime-node';
import { type BackendFactory, type BackendSession, type ProviderFeatures, type RunThread, type RuntimeBackend, createOrtSession, toOrtTensor } from './backend.js';
import { probeModel } from './probe-model.js';
import { type ProviderConfig, providerName } from './provider-config.js';
import type { OrtSessionOptions } from './session-options.js';
import type { TensorLike } from './types.js';

/**
 * onnxruntime-node. Measured on onnxruntime-node 1.30 (Linux, no GPU): `cuda` rejects at create with
 * "Failed to load shared library" (its libraries are not installed with onnxruntime-node-install=skip),
 * `webgpu` rejects at create with "Failed to get a WebGPU adapter"; each failure is quick (the runtime
 * benchmark records its time: `metrics.fallback.skipped[].ms` in docs/results/runtime.json) and
 * leaves CPU sessions working. Neither is retried by onnxruntime once it fails, so the runtime
 * remembers init failures too.
 */

let ortPromise: Promise<typeof OrtNode> | undefined;

export function loadOrtNode(): Promise<typeof OrtNode> {
  ortPromise ??= import('onnxruntime-node');
  return ortPromise;
}

const require = createRequire(import.meta.url);

/** Where onnxruntime-node keeps its native binding and the provider libraries it may download. */
function bindingDir(): string | undefined {
  try {
    return path.join(path.dirname(require.resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    return undefined;
  }
}

/** Library files a non-bundled provider needs beside the binding (onnxruntime-node's install manifest). */
function providerLibraries(provider: string): string[] | undefined {
  if (process.platform === 'linux') return ['libonnxruntime_providers_shared.so', `libonnxruntime_providers_${provider}.so`];
  if (process.platform === 'win32') return ['onnxruntime_providers_shared.dll', `onnxruntime_providers_${provider}.dll`];
  return undefined;
}

export interface NodeBackendOptions {
  /**
   * How providers other than cpu are started the first time: in this process (default; failures measured
   * here are clean rejections), or in a child process, which keeps GPU driver state, driver aborts and
   * native log noise out of this process at the cost of one Node start per provider.
   */
  probe?: 'in-process' | 'child-process';
}

class NodeBackend implements RuntimeBackend {
  readonly name = 'node';
  readonly defaultProvider = 'cpu';
  readonly acceptsPaths = true;
  /** The one thread every in-process run of this backend runs on (ProviderFeatures.thread). */
  private readonly thread: RunThread = { ends: new WeakMap() };

  constructor(private readonly ort: typeof OrtNode, private readonly options: NodeBackendOptions) {}

  async resolveProvider(provider: string): Promise<string | undefined> {
    const ort = this.ort;
    const backends = ort.listSupportedBackends();
    const entry = backends.find((b) => b.name === provider);
    if (!entry) {
      return `onnxruntime-node ${ort.env.versions.node ?? ''} on ${process.platform}-${process.arch} has no '${provider}' provider (it has ${backends.map((b) => b.name).join(', ')})`;
    }
    if (!entry.bundled) {
      const dir = bindingDir();
      const libs = providerLibraries(provider);
      const missing = dir && libs ? libs.filter((l) => !existsSync(path.join(dir, l))) : [];
      if (missing.length > 0) {
        return `the ${provider} provider libraries are not installed (${missing.join(', ')} missing in ${dir}): onnxruntime-node was installed with onnxruntime-node-install=skip or offline; reinstall it with --onnxruntime-node-install=cuda12 to use ${provider}`;
      }
    }
    return undefined;
  }

  async initProvider(provider: ProviderConfig): Promise<void> {
    if (providerName(provider) === 'cpu') return;
    if (this.options.probe === 'child-process') {
      const { probeInChildProcess } = await import('./provider-probe.js');
      const result = await probeInChildProcess(provider, probeModel());
      if (!result.ok) throw new Error(result.error);
      return;
    }
    const session = await this.ort.InferenceSession.create(probeModel(), { executionProviders: [provider as OrtNode.InferenceSession.ExecutionProviderConfig], logSeverityLevel: 3 });
    await session.release();
  }

  createSession(model: Uint8Array | string, options: OrtSessionOptions): Promise<BackendSession> {
    return createOrtSession(this.ort, model, options);
  }

  toTensor(t: TensorLike): unknown {
    // onnxruntime-node refuses data in a SharedArrayBuffer at run ("Invalid argument"): it gets a copy.
    const location = (t as { location?: string }).location;
    if ((location === undefined || location === 'cpu') && ArrayBuffer.isView(t.data) && isShared(t.data.buffer)) {
      return new this.ort.Tensor(t.type as never, t.data.slice() as never, t.dims);
    }
    return toOrtTensor(this.ort, t);
  }

  async providerFeatures(provider: string): Promise<ProviderFeatures> {
    if (provider === 'cuda' || provider === 'tensorrt') return { fp16Native: true, thread: this.thread };
    if (provider === 'webgpu') {
      // onnxruntime-node's WebGPU is native Dawn: JavaScript cannot ask its adapter for shader-f16.
      return { fp16Native: undefined, exclusiveRuns: true, note: 'onnxruntime-node cannot report whether its WebGPU adapter has shader-f16; pass capabilities: { shaderF16: true } if it does' };
    }
    return { fp16Native: false, thread: this.thread };
  }
}

const instances = new Map<string, NodeBackend>();

/**
 * Loads onnxruntime-node (its native binding: the step that fails where the package has no build for
 * the platform) and gives the factory of node backends: one instance per probe mode, so remembered
 * provider failures are shared by every session of the process.
 */
export async function loadNodeBackend(): Promise<BackendFactory> {
  const ort = await loadOrtNode();
  return (options: NodeBackendOptions) => {
    const key = options.probe ?? 'in-process';
    let b = instances.get(key);
    if (!b) instances.set(key, (b = new NodeBackend(ort, { probe: key })));
    return b;
  };
}

function isShared(buffer: ArrayBufferLike): boolean {
  return Object.prototype.toString.call(buffer) === '[object SharedArrayBuffer]';
}
