import { OutputAgreement, type OutputAccuracy } from '@onnx-forge/bench/accuracy';
import { latencyStats } from '@onnx-forge/bench/stats';
import { Model, firstFloat16Compute, type LoadedModel, type ModelRunner, type RunnerFeeds } from '@onnx-forge/core';
import {
  convertToFp16, firstOverflow, fitSeededDims, fittedNote, headroomFailures, headroomFeeds, headroomWhat, quantizeDynamic, seededFeeds,
  toleranceProblem, type Fp16Report, type QuantReport,
} from '@onnx-forge/graph-ops';
import type * as Ort from 'onnxruntime-web';

export type OrtModule = typeof Ort;

export interface Runtime {
  readonly ort: OrtModule;
  /** The execution provider sessions use: webgpu when the browser has an adapter, else wasm. */
  readonly ep: 'webgpu' | 'wasm';
  /**
   * Whether the WebGPU adapter offers 'shader-f16' (false on wasm). Without it onnxruntime-web's
   * float16 WebGPU shaders do not compile, yet sessions load and answer zeros: a variant that
   * computes in float16 then runs on WebAssembly instead, and its notes say so.
   */
  readonly shaderF16: boolean;
  /** Why, in words, for the page. */
  readonly reason: string;
}

export interface VariantResult {
  readonly name: 'fp32' | 'fp16' | 'int8';
  readonly bytes: number;
  readonly makeMs: number;
  readonly createMs: number;
  /** Timed runs (after the warm-up ones) the latency figures come from. */
  readonly runs: number;
  readonly p50Ms: number;
  /** 95 % interval of the median (distribution-free, from order statistics), as bench and the CLI give it. */
  readonly p50Ci95Ms: readonly [number, number];
  readonly p90Ms: number;
  readonly meanMs: number;
  /** Half-width of the mean's 95 % interval (Student t); the interval is written with its low end at least 0. */
  readonly meanMarginOfError95Ms: number;
  /** Each output's agreement with fp32 over the samples (bench's OutputAgreement). */
  readonly outputs: readonly OutputAccuracy[];
  /**
   * Smallest cosine similarity to fp32 over the outputs of more than one value and the samples (1 for
   * fp32 itself, and when every output is one value per sample, where cosine says nothing).
   */
  readonly minCosine: number;
  /** Largest error over the outputs, relative to each output's largest value over the samples. */
  readonly scaleError: number;
  /** Smallest share of rows whose arg-max class is fp32's, over classifier-shaped outputs; null when there are none. */
  readonly top1: number | null;
  /** What a user should know: outputs that miss cosine 0.99, a pass that changed nothing, a file no smaller, float16 overflow. */
  readonly notes: readonly string[];
  readonly provider: string;
  readonly file: Uint8Array;
}

export interface Progress {
  readonly step: string;
  readonly done: number;
  readonly total: number;
}

/** The accuracy the page holds variants to, as the CLI's checks do by default. */
export const TOLERANCE = 0.99;
const SAMPLES = 4;
/**
 * Timed runs per variant, one at a time: stop at RUNS, or when the time budget is spent (whichever
 * first), but never before MIN_RUNS, so the median's 95 % interval stands on order statistics (with
 * 10 runs: the 2nd to the 10th fastest) and the mean's on 9 degrees of freedom.
 */
export const RUNS = 40;
export const MIN_RUNS = 10;
export const WARMUP = 3;
export const BUDGET_MS = 1500;

/** Lets the page paint between long synchronous steps. */
const yieldToPage = () => new Promise<void>((r) => setTimeout(r, 0));

/**
 * onnxruntime-web from the server's copy of its dist folder: the WebGPU build when the browser gives
 * an adapter, the plain WebAssembly build otherwise. Threads need cross-origin isolation (COOP/COEP).
 */
export async function loadRuntime(base = '/ort/'): Promise<Runtime> {
  let reason: string;
  let adapter: { features: { has(feature: string): boolean } } | null = null;
  const gpu = (navigator as { gpu?: { requestAdapter(): Promise<typeof adapter> } }).gpu;
  if (!gpu) reason = 'this browser has no WebGPU';
  else {
    try {
      adapter = await gpu.requestAdapter();
      reason = !adapter
        ? 'WebGPU is present but gave no adapter (no GPU, or GPU disabled)'
        : adapter.features.has('shader-f16') ? 'WebGPU adapter found, with shader-f16' : 'WebGPU adapter found, without shader-f16: variants that compute in float16 run on WebAssembly';
    } catch (e) {
      reason = `WebGPU adapter request failed: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
  const file = adapter ? 'ort.min.mjs' : 'ort.wasm.min.mjs';
  const url = `${base}${file}`;
  const ort = (await import(/* @vite-ignore */ url)) as OrtModule;
  ort.env.wasm.wasmPaths = base;
  ort.env.wasm.numThreads = globalThis.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
  return { ort, ep: adapter ? 'webgpu' : 'wasm', shaderF16: adapter?.features.has('shader-f16') ?? false, reason };
}

function toOrtFeeds(ort: OrtModule, feeds: RunnerFeeds): Record<string, Ort.Tensor> {
  const out: Record<string, Ort.Tensor> = {};
  // RunnerTensor's (type, data) pairs are the ones ort.Tensor takes (float16 as Uint16Array bits, int64 as
  // BigInt64Array, bool as Uint8Array), but its overloads want the pair typed together.
  for (const [name, t] of Object.entries(feeds)) out[name] = new ort.Tensor(t.type as 'float32', t.data as Float32Array, t.dims);
  return out;
}

function fromOrt(outputs: Ort.InferenceSession.OnnxValueMapType): RunnerFeeds {
  const out: RunnerFeeds = {};
  for (const [name, v] of Object.entries(outputs)) {
    const t = v as Ort.Tensor;
    out[name] = { type: t.type as RunnerFeeds[string]['type'], dims: [...t.dims], data: t.data as RunnerFeeds[string]['data'] };
  }
  return out;
}

/** onnxruntime-web (WebAssembly) as graph-ops' ModelRunner, for sizing the seeded inputs. */
function webRunner(rt: Runtime): ModelRunner {
  return {
    async load(model): Promise<LoadedModel> {
      if (!(model instanceof Uint8Array)) throw new Error('the page loads models from bytes');
      const s = await rt.ort.InferenceSession.create(model, { executionProviders: ['wasm'] });
      return {
        inputNames: s.inputNames,
        outputNames: s.outputNames,
        run: async (feeds) => fromOrt(await s.run(toOrtFeeds(rt.ort, feeds))),
        release: () => s.release(),
      };
    },
  };
}

/** Each output's agreement of `got` with `want`, sample by sample. */
function agreement(want: readonly RunnerFeeds[], got: readonly RunnerFeeds[]): OutputAccuracy[] {
  const names = Object.keys(want[0] ?? {});
  return names.map((name) => {
    const a = new OutputAgreement(name);
    want.forEach((w, k) => a.add(w[name] as RunnerFeeds[string], got[k]?.[name]));
    return a.value;
  });
}

/** What the pass changed, when it changed nothing (the file is then the float32 one again). */
function passNotes(name: 'fp16' | 'int8', report: Fp16Report | QuantReport): string[] {
  const notes = report.warnings.map((w) => `${name}: ${w}`);
  if (name === 'fp16') {
    const r = report as Fp16Report;
    if (r.initializersConverted + r.initializersStored === 0 && r.nodesConverted === 0) notes.push('fp16: nothing converted (no float32 weight or node this target computes in float16)');
  } else if ((report as QuantReport).quantized === 0) notes.push('int8: no node quantized (no weight the pass quantizes: weights may be graph inputs, or already integer)');
  return [...new Set(notes)];
}

/** Runs one variant's session on every feed. */
async function runAll(session: Ort.InferenceSession, rt: Runtime, feeds: readonly RunnerFeeds[]): Promise<RunnerFeeds[]> {
  const out: RunnerFeeds[] = [];
  for (const f of feeds) out.push(fromOrt(await session.run(toOrtFeeds(rt.ort, f))));
  return out;
}

/**
 * Makes the FP16 and INT8 variants of `bytes` with graph-ops, in this page, then loads each in
 * onnxruntime-web and measures its size, latency (warm runs: p50 and the mean, each with its 95 %
 * interval, and p90) and accuracy against fp32 on seeded inputs (symbolic dimensions sized so the
 * model runs, as the CLI sizes them). FP16 is also probed at large input spreads, where float16 can
 * overflow. Nothing leaves the browser.
 */
export async function optimizeInBrowser(bytes: Uint8Array, rt: Runtime, onProgress: (p: Progress) => void): Promise<VariantResult[]> {
  const total = 7;
  let done = 0;
  let current = '';
  const step = async (text: string) => {
    current = text;
    onProgress({ step: text, done, total });
    done++;
    await yieldToPage();
  };
  try {
    return await optimize(bytes, rt, step, () => onProgress({ step: 'done', done: total, total }));
  } catch (e) {
    throw new Error(`${current}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

async function optimize(bytes: Uint8Array, rt: Runtime, step: (text: string) => Promise<void>, finished: () => void): Promise<VariantResult[]> {
  const target = rt.ep;
  await step('reading the model');
  const source = Model.decode(bytes);

  await step('sizing seeded test inputs');
  const fit = await fitSeededDims(webRunner(rt), source);
  const samples = Array.from({ length: SAMPLES }, (_, i) => seededFeeds(source, { seed: i + 1, dims: fit.dims }));
  const sampleNote = `${SAMPLES} seeded inputs${fittedNote(fit)}`;

  // `half`: the variant computes in float16 (a model dropped in that already does, or nodes the fp16
  // pass converted), which needs shader-f16 on WebGPU; onnxruntime folds float16 weights' casts at load.
  const half = (m: Model) => firstFloat16Compute(m, { foldsConstants: true }) !== undefined;
  const made: { name: VariantResult['name']; file: Uint8Array; makeMs: number; notes: string[]; half: boolean }[] = [{ name: 'fp32', file: bytes, makeMs: 0, notes: [], half: half(source) }];
  await step('making FP16 (graph-ops fp16, keepIoTypes)');
  let t0 = performance.now();
  const m16 = Model.decode(bytes);
  const r16 = await convertToFp16(m16, { keepIoTypes: true, target });
  made.push({ name: 'fp16', file: m16.encode(), makeMs: performance.now() - t0, notes: passNotes('fp16', r16), half: half(m16) });

  await step('making INT8 (graph-ops int8-dynamic)');
  t0 = performance.now();
  const m8 = Model.decode(bytes);
  const r8 = await quantizeDynamic(m8, { target });
  made.push({ name: 'int8', file: m8.encode(), makeMs: performance.now() - t0, notes: passNotes('int8', r8), half: half(m8) });

  let reference: RunnerFeeds[] | undefined;
  let referenceSession: Ort.InferenceSession | undefined;
  const results: VariantResult[] = [];
  try {
    for (const v of made) {
      const noF16 = v.half && rt.ep === 'webgpu' && !rt.shaderF16;
      const ep = noF16 ? 'wasm' : rt.ep;
      if (noF16) v.notes.push(`${v.name}: run on wasm, not webgpu: this WebGPU adapter lacks shader-f16, which its float16 nodes need (on webgpu the variant would load and answer zeros)`);
      await step(`running ${v.name} in onnxruntime-web (${ep}) on ${sampleNote}`);
      const c0 = performance.now();
      let provider: string = ep;
      let session: Ort.InferenceSession;
      try {
        session = await rt.ort.InferenceSession.create(v.file, { executionProviders: [ep] });
      } catch (e) {
        if (ep === 'wasm') throw e;
        // A model WebGPU cannot take still runs on WebAssembly; the table says which provider ran it.
        session = await rt.ort.InferenceSession.create(v.file, { executionProviders: ['wasm'] });
        provider = 'wasm';
      }
      const createMs = performance.now() - c0;
      let keep = false;
      try {
        const outs = await runAll(session, rt, samples);
        const feeds = toOrtFeeds(rt.ort, samples[0] as RunnerFeeds);
        for (let i = 0; i < WARMUP; i++) await session.run(feeds);
        const times: number[] = [];
        const start = performance.now();
        while (times.length < RUNS && (times.length < MIN_RUNS || performance.now() - start < BUDGET_MS)) {
          const r0 = performance.now();
          await session.run(feeds);
          times.push(performance.now() - r0);
        }
        if (!reference) {
          reference = outs;
          referenceSession = session;
          keep = true;
        }
        const outputs = agreement(reference, outs);
        const vectors = outputs.filter((o) => o.elements > 1);
        const classifiers = outputs.filter((o) => o.top1 !== undefined);
        const notes = [...v.notes];
        if (v.name !== 'fp32') {
          for (const o of outputs) {
            const problem = toleranceProblem(o, TOLERANCE);
            if (problem) notes.push(`${o.output}: ${problem}`);
          }
          if (v.file.byteLength >= bytes.byteLength) notes.push(`${v.name}: the file is not smaller than fp32's`);
          if (v.name === 'fp16' && referenceSession) {
            const h = await fp16Headroom(source, fit.dims, rt, referenceSession, session);
            if (h) notes.push(h);
          }
        }
        // bench's statistics, as the CLI computes them: p50 with its 95 % interval, the mean with its margin.
        const l = latencyStats(times);
        results.push({
          name: v.name, bytes: v.file.byteLength, makeMs: v.makeMs, createMs, runs: l.n,
          p50Ms: l.p50, p50Ci95Ms: l.p50Ci95, p90Ms: l.p90, meanMs: l.mean, meanMarginOfError95Ms: l.meanMarginOfError95,
          outputs,
          minCosine: Math.min(1, ...vectors.map((o) => o.cosine)),
          scaleError: Math.max(0, ...outputs.map((o) => o.scaleError)),
          top1: classifiers.length ? Math.min(...classifiers.map((o) => o.top1 as number)) : null,
          notes, provider, file: v.file,
        });
      } finally {
        if (!keep) await session.release();
      }
    }
  } finally {
    await referenceSession?.release();
  }
  finished();
  return results;
}

/**
 * Float16 overflows past 65504: a model checked on inputs near ±1 can turn NaN on raw pixels or
 * int16-scale audio. Runs fp32 and fp16 on inputs spread as graph-ops' HEADROOM_SCALES and says the
 * first spread at which an fp16 output fails (NaN/Inf, or cosine below the tolerance), if any.
 */
async function fp16Headroom(source: Model, dims: Readonly<Record<string, number>>, rt: Runtime, fp32: Ort.InferenceSession, fp16: Ort.InferenceSession): Promise<string | undefined> {
  const probes = headroomFeeds(source, 1, dims);
  if (!probes) return undefined;
  const [want, got] = [await runAll(fp32, rt, probes), await runAll(fp16, rt, probes)];
  const h = await firstOverflow(async (upTo) => headroomFailures(agreement(want.slice(0, upTo), got.slice(0, upTo)), TOLERANCE));
  return h && `fp16: with inputs spread ±${h.scale} (${h.what}), ${headroomWhat(h)} against fp32; keep such inputs small, or keep the overflowing nodes float32 (onnx-forge fp16-auto)`;
}
