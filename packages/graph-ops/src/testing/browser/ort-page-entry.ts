// The page side of graph-ops' WebGPU tests: bundled for the browser (ort-page.ts serves it), it loads
// onnxruntime-web with its module and wasm files from /ort/ (the package's default entry, whose webgpu
// provider is JSEP, or `onnxruntime-web/webgpu` with onnxruntime's C++ WebGPU provider: ort-page.ts
// picks the build) and puts `forgeOrt` on globalThis for the test to call through page.evaluate.
// Models come by URL from the test's server; every answer is plain data.
import * as ort from 'onnxruntime-web';
import { countGpuDispatches } from '@onnx-forge/runtime/testing';

ort.env.wasm.wasmPaths = '/ort/';
ort.env.wasm.numThreads = 1;
// Debug mode: onnxruntime-web logs each WebGPU kernel it runs ("[WebGPU] Start to run kernel
// "[OpType] name"", at level info) and checks each one in a WebGPU error scope, so a GPU validation
// error fails the run instead of leaving zeros behind.
ort.env.debug = true;
ort.env.logLevel = 'info';

/** Compute passes dispatched on any GPU device of the page so far: proof that kernels ran on WebGPU. */
const dispatches = countGpuDispatches();

/**
 * What onnxruntime writes to the console (its C++ log goes through the console) while `work` runs,
 * kept and not printed: with verbose logging a session tells where every node was placed. The
 * console is wrapped once, here, because onnxruntime's wasm module binds the console functions it
 * finds when it starts.
 */
let sink: string[] | undefined;
for (const m of ['log', 'info', 'warn', 'error', 'debug'] as const) {
  const original = console[m].bind(console);
  console[m] = (...args: unknown[]) => (sink ? void sink.push(args.map(String).join(' ')) : original(...args));
}

async function capturingConsole<T>(lines: string[], work: () => Promise<T>): Promise<T> {
  sink = lines;
  try {
    return await work();
  } finally {
    sink = undefined;
  }
}

export interface PageFeed {
  readonly type: 'float32' | 'int64' | 'bool';
  readonly dims: number[];
  readonly data: number[];
}

/** Nodes onnxruntime placed on one execution provider. */
export interface Placement {
  readonly provider: string;
  readonly count: number;
  /** The nodes by op type and name (onnxruntime lists them only when not all went to one provider). */
  readonly nodes: { readonly opType: string; readonly name: string }[];
}

export interface RunReport {
  /** float32 outputs by name, their bytes in base64. */
  readonly outputs: Record<string, string>;
  /** GPU compute dispatches during the run. */
  readonly dispatches: number;
  /** Where onnxruntime placed the nodes (from its verbose log), by provider. */
  readonly placements: Placement[];
  /** Op types of the kernels JSEP ran on the GPU, in the order first run (none for other builds). */
  readonly gpuKernels: string[];
}

export type RunAnswer = RunReport | { readonly error: string; readonly phase: 'create' | 'run'; readonly log: string[] };

/**
 * onnxruntime's "Node placements" block, logged by VerifyEachNodeIsAssignedToAnEp when verbose:
 * " All nodes placed on [EP]. Number of nodes: n", or for each provider " Node(s) placed on [EP].
 * Number of nodes: n" followed by one line per node, "  OpType (name)".
 */
export function parsePlacements(lines: readonly string[]): Placement[] {
  const out: Placement[] = [];
  for (const line of lines.join('\n').split('\n')) {
    const at = line.indexOf('VerifyEachNodeIsAssignedToAnEp] ');
    if (at < 0) continue;
    const text = line.slice(at + 'VerifyEachNodeIsAssignedToAnEp] '.length);
    const head = /(?:All nodes|Node\(s\)) placed on \[(\w+)\]\. Number of nodes: (\d+)/.exec(text);
    if (head) out.push({ provider: head[1] as string, count: Number(head[2]), nodes: [] });
    const node = /^\s+([\w.]+) \((.*)\)\s*$/.exec(text);
    if (node && out.length) out[out.length - 1]?.nodes.push({ opType: node[1] as string, name: node[2] as string });
  }
  return out;
}

/** Op types in JSEP's debug lines `[WebGPU] Start to run kernel "[OpType] name"...`. */
function jsepKernels(lines: readonly string[]): string[] {
  const seen = new Set<string>();
  for (const line of lines) {
    const m = /Start to run kernel "\[(\w+)\]/.exec(line);
    if (m) seen.add(m[1] as string);
  }
  return [...seen];
}

function base64(data: Float32Array): string {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

const api = {
  /**
   * Where onnxruntime places the nodes of the model at `url` on one provider: the session is created
   * (with verbose logging) and released without a run, so nothing is computed (a float16 model on an
   * adapter without shader-f16 is only placed, never run).
   */
  async place(url: string, provider: 'webgpu' | 'wasm'): Promise<Placement[] | { readonly error: string; readonly log: string[] }> {
    const log: string[] = [];
    const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
    try {
      const session = await capturingConsole(log, () => ort.InferenceSession.create(bytes, { executionProviders: [provider], logSeverityLevel: 0, logVerbosityLevel: 0 }));
      await session.release();
    } catch (e) {
      return { error: e instanceof Error ? e.message : String(e), log };
    }
    return parsePlacements(log);
  },

  /** The adapter navigator.gpu gives (null when none), with what it tells of itself. */
  async adapter(): Promise<{ vendor: string; architecture: string; shaderF16: boolean } | null> {
    const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<{ info?: { vendor: string; architecture: string }; features: { has(f: string): boolean } } | null> } }).gpu;
    const a = await gpu?.requestAdapter();
    return a ? { vendor: a.info?.vendor ?? '', architecture: a.info?.architecture ?? '', shaderF16: a.features.has('shader-f16') } : null;
  },

  /**
   * A session on one execution provider for the model at `url`, created with verbose logging (to
   * learn where each node went), run once on `feeds`, released.
   */
  async run(url: string, provider: 'webgpu' | 'wasm', feeds: Record<string, PageFeed>): Promise<RunAnswer> {
    const log: string[] = [];
    const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
    let session: ort.InferenceSession;
    try {
      session = await capturingConsole(log, () => ort.InferenceSession.create(bytes, { executionProviders: [provider], logSeverityLevel: 0, logVerbosityLevel: 0 }));
    } catch (e) {
      return { error: e instanceof Error ? e.message : String(e), phase: 'create', log };
    }
    try {
      const tensors = Object.fromEntries(Object.entries(feeds).map(([name, f]) => [
        name, f.type === 'int64' ? new ort.Tensor('int64', BigInt64Array.from(f.data, BigInt), f.dims)
          : f.type === 'bool' ? new ort.Tensor('bool', Uint8Array.from(f.data, (v) => (v ? 1 : 0)), f.dims)
            : new ort.Tensor('float32', Float32Array.from(f.data), f.dims),
      ]));
      const before = dispatches();
      const out = await capturingConsole(log, () => session.run(tensors));
      const after = dispatches();
      const outputs: Record<string, string> = {};
      for (const [name, t] of Object.entries(out)) {
        if (t.type !== 'float32') throw new Error(`output ${name} is ${t.type}, not float32`);
        outputs[name] = base64(await t.getData() as Float32Array);
      }
      return { outputs, dispatches: after - before, placements: parsePlacements(log), gpuKernels: jsepKernels(log) };
    } catch (e) {
      return { error: e instanceof Error ? e.message : String(e), phase: 'run', log };
    } finally {
      await session.release();
    }
  },
};

export type OrtPageApi = typeof api;

(globalThis as unknown as { forgeOrt: OrtPageApi }).forgeOrt = api;
