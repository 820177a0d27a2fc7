import { Model, cosineSimilarity, type RunnerFeeds } from '@onnx-forge/core';
import { convertToFp16, quantizeDynamic, seededFeeds } from '@onnx-forge/graph-ops';
import type * as Ort from 'onnxruntime-web';

export type OrtModule = typeof Ort;

export interface Runtime {
  readonly ort: OrtModule;
  /** The execution provider sessions use: webgpu when the browser has an adapter, else wasm. */
  readonly ep: 'webgpu' | 'wasm';
  /** Why, in words, for the page. */
  readonly reason: string;
}

export interface VariantResult {
  readonly name: 'fp32' | 'fp16' | 'int8';
  readonly bytes: number;
  readonly makeMs: number;
  readonly createMs: number;
  readonly runs: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly meanMs: number;
  /** Smallest cosine similarity to fp32 over outputs and samples (1 for fp32 itself). */
  readonly minCosine: number;
  /** Share of samples whose largest output element is the one fp32 picks. */
  readonly top1: number;
  readonly provider: string;
  readonly file: Uint8Array;
}

export interface Progress {
  readonly step: string;
  readonly done: number;
  readonly total: number;
}

const SAMPLES = 4;
const WARMUP = 3;
/** Timed runs per variant: stop at this many, or when the time budget is spent (whichever first, at least 5). */
const RUNS = 40;
const BUDGET_MS = 1500;

/** Lets the page paint between long synchronous steps. */
const yieldToPage = () => new Promise<void>((r) => setTimeout(r, 0));

/**
 * onnxruntime-web from the server's copy of its dist folder: the WebGPU build when the browser gives
 * an adapter, the plain WebAssembly build otherwise. Threads need cross-origin isolation (COOP/COEP).
 */
export async function loadRuntime(base = '/ort/'): Promise<Runtime> {
  let reason: string;
  let adapter: unknown = null;
  const gpu = (navigator as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) reason = 'this browser has no WebGPU';
  else {
    try {
      adapter = await gpu.requestAdapter();
      reason = adapter ? 'WebGPU adapter found' : 'WebGPU is present but gave no adapter (no GPU, or GPU disabled)';
    } catch (e) {
      reason = `WebGPU adapter request failed: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
  const file = adapter ? 'ort.min.mjs' : 'ort.wasm.min.mjs';
  const url = `${base}${file}`;
  const ort = (await import(/* @vite-ignore */ url)) as OrtModule;
  ort.env.wasm.wasmPaths = base;
  ort.env.wasm.numThreads = globalThis.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
  return { ort, ep: adapter ? 'webgpu' : 'wasm', reason };
}

function toOrtFeeds(ort: OrtModule, feeds: RunnerFeeds): Record<string, Ort.Tensor> {
  const out: Record<string, Ort.Tensor> = {};
  // RunnerTensor's (type, data) pairs are the ones ort.Tensor takes (float16 as Uint16Array bits, int64 as
  // BigInt64Array, bool as Uint8Array), but its overloads want the pair typed together.
  for (const [name, t] of Object.entries(feeds)) out[name] = new ort.Tensor(t.type as 'float32', t.data as Float32Array, t.dims);
  return out;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = (sorted.length - 1) * q;
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (i - lo);
}

function numbers(t: Ort.Tensor): number[] {
  const d = t.data as ArrayLike<number | bigint>;
  return Array.from(d, (v) => Number(v));
}

function argmax(v: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if ((v[i] as number) > (v[best] as number)) best = i;
  return best;
}

/**
 * Makes the FP16 and INT8 variants of `bytes` with graph-ops, in this page, then loads each in
 * onnxruntime-web and measures its size, latency (warm runs, p50/p90) and accuracy against fp32 on
 * seeded inputs. Nothing leaves the browser.
 */
export async function optimizeInBrowser(bytes: Uint8Array, rt: Runtime, onProgress: (p: Progress) => void): Promise<VariantResult[]> {
  const total = 6;
  let done = 0;
  const step = async (text: string) => {
    onProgress({ step: text, done, total });
    done++;
    await yieldToPage();
  };
  const target = rt.ep;

  await step('reading the model');
  const source = Model.decode(bytes);
  const samples = Array.from({ length: SAMPLES }, (_, i) => seededFeeds(source, { seed: i + 1 }));

  const made: { name: VariantResult['name']; file: Uint8Array; makeMs: number }[] = [{ name: 'fp32', file: bytes, makeMs: 0 }];
  await step('making FP16 (graph-ops fp16, keepIoTypes)');
  let t0 = performance.now();
  const m16 = Model.decode(bytes);
  await convertToFp16(m16, { keepIoTypes: true, target });
  made.push({ name: 'fp16', file: m16.encode(), makeMs: performance.now() - t0 });

  await step('making INT8 (graph-ops int8-dynamic)');
  t0 = performance.now();
  const m8 = Model.decode(bytes);
  await quantizeDynamic(m8, { target });
  made.push({ name: 'int8', file: m8.encode(), makeMs: performance.now() - t0 });

  let reference: number[][][] | undefined;
  const results: VariantResult[] = [];
  for (const v of made) {
    await step(`running ${v.name} in onnxruntime-web (${rt.ep})`);
    const c0 = performance.now();
    let provider: string = rt.ep;
    let session: Ort.InferenceSession;
    try {
      session = await rt.ort.InferenceSession.create(v.file, { executionProviders: [rt.ep] });
    } catch (e) {
      if (rt.ep === 'wasm') throw e;
      // A model WebGPU cannot take still runs on WebAssembly; the table says which provider ran it.
      session = await rt.ort.InferenceSession.create(v.file, { executionProviders: ['wasm'] });
      provider = 'wasm';
    }
    const createMs = performance.now() - c0;
    try {
      const outs: number[][][] = [];
      for (const s of samples) {
        const o = await session.run(toOrtFeeds(rt.ort, s));
        outs.push(session.outputNames.map((n) => numbers(o[n] as Ort.Tensor)));
      }
      const feeds = toOrtFeeds(rt.ort, samples[0] as RunnerFeeds);
      for (let i = 0; i < WARMUP; i++) await session.run(feeds);
      const times: number[] = [];
      const start = performance.now();
      while (times.length < RUNS && (times.length < 5 || performance.now() - start < BUDGET_MS)) {
        const r0 = performance.now();
        await session.run(feeds);
        times.push(performance.now() - r0);
      }
      reference ??= outs;
      let minCosine = 1;
      let agree = 0;
      outs.forEach((sample, k) => {
        sample.forEach((out, j) => {
          const ref = (reference as number[][][])[k]?.[j] as number[];
          minCosine = Math.min(minCosine, cosineSimilarity(out, ref));
        });
        if (argmax(sample[0] ?? []) === argmax((reference as number[][][])[k]?.[0] ?? [])) agree++;
      });
      const sorted = [...times].sort((a, b) => a - b);
      results.push({
        name: v.name, bytes: v.file.byteLength, makeMs: v.makeMs, createMs, runs: times.length,
        p50Ms: quantile(sorted, 0.5), p90Ms: quantile(sorted, 0.9), meanMs: times.reduce((a, b) => a + b, 0) / times.length,
        minCosine, top1: agree / outs.length, provider, file: v.file,
      });
    } finally {
      await session.release();
    }
  }
  onProgress({ step: 'done', done: total, total });
  return results;
}
