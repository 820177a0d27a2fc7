// The page side of the runtime's browser tests: bundled for the browser with the runtime's sources
// (runtime-page.ts serves it), it loads onnxruntime-web's module and wasm from /ort/ and puts
// `forgeRuntime` on globalThis for the test to call through page.evaluate. Every answer is plain data.
import { type ElementType, OrtRunner, type ProviderFeatures, type ProviderSkip, configureWebBackend, createSession, fromFloat16, resolveBackend, toFloat16 } from '../../index.js';
import { loadOrtWeb } from '../../web-backend.js';
import { countGpuDispatches } from '../gpu-dispatches.js';

configureWebBackend({ wasmPaths: '/ort/', numThreads: 1 });

/** Compute passes dispatched on any GPU device of the page so far: proof that kernels ran on WebGPU. */
const dispatches = countGpuDispatches();

export interface PageFeed {
  readonly type: ElementType;
  readonly data: number[];
  readonly dims: number[];
}

export interface SessionReport {
  readonly provider: string;
  readonly precision: string;
  readonly precisionReason: string;
  readonly skipped: readonly ProviderSkip[];
  /** Output values by name, as plain numbers. */
  readonly outputs: Record<string, number[]>;
  /** GPU compute dispatches during the measured run (the warm-up run is not counted). */
  readonly dispatches: number;
}

export type SessionAnswer = SessionReport | { readonly error: string; readonly code: string | undefined };

type Variants = Partial<Record<'fp32' | 'fp16' | 'int8', number[]>>;

function feedsOf(feeds: Record<string, PageFeed>) {
  return Object.fromEntries(Object.entries(feeds).map(([name, f]) => [name, { type: f.type, dims: f.dims, data: f.type === 'float32' ? Float32Array.from(f.data) : f.data }]));
}

function asNumbers(data: unknown): number[] {
  return Array.from(data as ArrayLike<number>, Number);
}

const api = {
  /** The adapter navigator.gpu gives (null when none), with what it tells of itself. */
  async adapter(): Promise<{ vendor: string; architecture: string; shaderF16: boolean } | null> {
    const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<{ info?: { vendor: string; architecture: string }; features: { has(f: string): boolean } } | null> } }).gpu;
    const a = await gpu?.requestAdapter();
    return a ? { vendor: a.info?.vendor ?? '', architecture: a.info?.architecture ?? '', shaderF16: a.features.has('shader-f16') } : null;
  },

  /** What the web backend reports of a provider's fp16 support. */
  async features(provider: string): Promise<ProviderFeatures> {
    return (await resolveBackend('web')).providerFeatures(provider);
  },

  /**
   * A runtime session on the web backend for a model (or precision variants) given as byte values or
   * a URL, run once on `feeds`, then released; or the error createSession gave.
   */
  async session(model: number[] | string | Variants, options: { providers: string[]; precision?: 'fp32' | 'fp16' | 'int8' }, feeds: Record<string, PageFeed>): Promise<SessionAnswer> {
    const source = typeof model === 'string' ? model : Array.isArray(model) ? Uint8Array.from(model) : Object.fromEntries(Object.entries(model).map(([k, v]) => [k, Uint8Array.from(v)]));
    let session;
    try {
      session = await createSession(source, { backend: 'web', ...options });
    } catch (e) {
      return { error: e instanceof Error ? e.message : String(e), code: (e as { code?: string }).code };
    }
    try {
      const before = dispatches();
      const out = await session.run(feedsOf(feeds));
      const outputs = Object.fromEntries(Object.entries(out).map(([name, t]) => [name, asNumbers(t.data)]));
      return { provider: session.provider, precision: session.precision, precisionReason: session.precisionReason, skipped: session.skipped, outputs, dispatches: dispatches() - before };
    } finally {
      await session.release();
    }
  },

  /**
   * A model with a float16 input `h` [3] and outputs `y` (float16, the same values) and `f` (float32),
   * run on wasm with `values` fed as fp16 bits (toFloat16) and, where the page has Float16Array, as one:
   * each answer read back through fromFloat16, or the error the run gave; and `y` as OrtRunner (core's
   * ModelRunner) gives it, whose float16 data is Uint16Array bits.
   */
  async float16(model: number[], values: number[]): Promise<{ float16Array: boolean; outputArray: string; answers: (number[] | string)[]; runner: { array: string; bits: number[] } }> {
    const F16 = (globalThis as { Float16Array?: new (values: number[]) => ArrayLike<number> }).Float16Array;
    const session = await createSession(Uint8Array.from(model), { backend: 'web', providers: ['wasm'] });
    try {
      let outputArray = '';
      const answers: (number[] | string)[] = [];
      for (const data of [toFloat16(values), ...(F16 ? [new F16(values)] : [])]) {
        try {
          const out = await session.run({ h: { data, dims: [values.length] } } as never);
          outputArray ||= (out.y?.data as object).constructor.name;
          answers.push(Array.from(fromFloat16(out.y?.data as ArrayLike<number>)), asNumbers(out.f?.data));
        } catch (e) {
          answers.push(e instanceof Error ? e.message : String(e));
        }
      }
      const loaded = await new OrtRunner({ backend: 'web', sessionOptions: { providers: ['wasm'] } }).load(Uint8Array.from(model));
      const y = (await loaded.run({ h: { type: 'float16', dims: [values.length], data: toFloat16(values) } })).y;
      await loaded.release();
      return { float16Array: F16 !== undefined, outputArray, answers, runner: { array: (y?.data as object).constructor.name, bits: asNumbers(y?.data) } };
    } finally {
      await session.release();
    }
  },

  /** onnxruntime-web alone, without the runtime: a session on one provider, created and run once. */
  async plainOrt(model: number[], provider: string, feeds: Record<string, PageFeed>): Promise<{ outputs: Record<string, number[]>; dispatches: number } | { error: string }> {
    const ort = await loadOrtWeb();
    try {
      const session = await ort.InferenceSession.create(Uint8Array.from(model), { executionProviders: [provider] });
      const tensors = Object.fromEntries(Object.entries(feeds).map(([name, f]) => [name, new ort.Tensor('float32', Float32Array.from(f.data), f.dims)]));
      const before = dispatches();
      const out = await session.run(tensors);
      const after = dispatches();
      await session.release();
      return { outputs: Object.fromEntries(Object.entries(out).map(([name, t]) => [name, asNumbers(t.data)])), dispatches: after - before };
    } catch (e) {
      return { error: e instanceof Error ? e.message : String(e) };
    }
  },
};

export type RuntimePageApi = typeof api;

(globalThis as unknown as { forgeRuntime: RuntimePageApi }).forgeRuntime = api;
