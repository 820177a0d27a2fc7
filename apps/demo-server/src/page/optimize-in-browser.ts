import { OutputAgreement, type OutputAccuracy } from '@onnx-forge/bench/accuracy';
import { latencyStats } from '@onnx-forge/bench/stats';
import {
  ForgeError, ForgeErrorCode, Model, blobSource, externalLocations, firstFloat16Compute, firstJsepMiscompute, memorySource, openModel,
  type JsepMiscompute, type LoadedModel, type ModelRunner, type RunnerFeeds,
} from '@onnx-forge/core';
import {
  convertToFp16, firstOverflow, fitSeededDims, fittedNote, formatCosine, headroomFailures, headroomFeeds, headroomWhat, quantizeDynamic, seededFeeds,
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

/** What every row of the page has: the variant, its file and what making it said. */
interface VariantBase {
  readonly name: 'fp32' | 'fp16' | 'int8';
  readonly bytes: number;
  readonly makeMs: number;
  /** What a user should know: outputs that miss cosine 0.99, a pass that changed nothing, a file no smaller, float16 overflow. */
  readonly notes: readonly string[];
}

/** A variant loaded and run in onnxruntime-web: its latency and its agreement with fp32. */
export interface MeasuredVariant extends VariantBase {
  readonly status: 'measured';
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
  /**
   * Each tensor output's agreement over the samples (bench's OutputAgreement) with the float32 model as
   * given run on WebAssembly, the reference (on a wasm page, the fp32 row's own run).
   */
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
  /** The execution provider the figures come from (wasm when webgpu could not take the variant; the notes say why). */
  readonly provider: string;
  readonly file: Uint8Array;
}

/**
 * A variant with no figures: 'unchanged' when its pass changed nothing (it would be the model as given,
 * the fp32 row, so it is not run again nor offered as another file); 'failed' when onnxruntime-web could
 * not load or run it (`error` says why; the file is still offered).
 */
export interface UnmeasuredVariant extends VariantBase {
  readonly status: 'unchanged' | 'failed';
  readonly error?: string;
  /** The provider that failed; undefined when not run. */
  readonly provider?: string;
  readonly file?: Uint8Array;
}

export type VariantResult = MeasuredVariant | UnmeasuredVariant;

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

/**
 * onnxruntime's own log level for the page's sessions: errors only. At its default (warnings) it writes
 * notes about the model's file (unused initializers) to the console as errors, for every variant.
 */
const LOG_ERRORS = 3;
/** While sizing seeded inputs, failed tries are expected: onnxruntime says nothing of them. */
const LOG_FATAL = 4;

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

/**
 * A session's outputs split into tensors and the rest (sequences and maps, as ZipMap's probabilities),
 * which onnxruntime-web cannot return: a run that fetches them fails, so only tensors are fetched (as
 * the runtime's wrapSession does).
 */
function outputKinds(session: Ort.InferenceSession): { tensors: string[]; others: string[] } {
  const meta = session.outputMetadata as readonly ({ isTensor?: boolean } | undefined)[] | undefined;
  const tensor = (i: number) => meta?.[i]?.isTensor !== false;
  return { tensors: session.outputNames.filter((_, i) => tensor(i)), others: session.outputNames.filter((_, i) => !tensor(i)) };
}

/** Each session's outputs to fetch: undefined for all of them (every output a tensor), else its tensors. */
const fetches = new WeakMap<Ort.InferenceSession, readonly string[] | undefined>();

/**
 * session.run on the tensor outputs only (all of them when every output is a tensor). onnxruntime-web
 * gives each run its own log level (warnings unless told), apart from the session's.
 */
async function runTensors(session: Ort.InferenceSession, feeds: Record<string, Ort.Tensor>, logSeverityLevel: 3 | 4 = LOG_ERRORS): Promise<Ort.InferenceSession.OnnxValueMapType> {
  if (!fetches.has(session)) {
    const { tensors, others } = outputKinds(session);
    if (others.length && !tensors.length) throw new Error(`the model has no tensor output: its outputs (${others.join(', ')}) are sequences or maps, which onnxruntime-web cannot return, so nothing can be compared`);
    fetches.set(session, others.length ? tensors : undefined);
  }
  const names = fetches.get(session);
  return names ? session.run(feeds, names, { logSeverityLevel }) : session.run(feeds, { logSeverityLevel });
}

/** onnxruntime-web (WebAssembly) as graph-ops' ModelRunner, for sizing the seeded inputs. */
function webRunner(rt: Runtime): ModelRunner {
  return {
    async load(model): Promise<LoadedModel> {
      if (!(model instanceof Uint8Array)) throw new Error('the page loads models from bytes');
      const s = await rt.ort.InferenceSession.create(model, { executionProviders: ['wasm'], logSeverityLevel: LOG_FATAL });
      return {
        inputNames: s.inputNames,
        outputNames: outputKinds(s).tensors,
        run: async (feeds) => fromOrt(await runTensors(s, toOrtFeeds(rt.ort, feeds), LOG_FATAL)),
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

/** Where each output misses the tolerance against the reference, as notes of variant `name`. */
function problems(name: string, outputs: readonly OutputAccuracy[]): string[] {
  return outputs.flatMap((o) => {
    const problem = toleranceProblem(o, TOLERANCE);
    return problem ? [`${name}: ${o.output}: ${problem}`] : [];
  });
}

/** Whether the pass left the model as it was (then its variant is the model as given). */
function unchanged(name: 'fp16' | 'int8', report: Fp16Report | QuantReport): boolean {
  return name === 'int8' ? (report as QuantReport).quantized === 0 : (report as Fp16Report).unchanged;
}

/** The nodes a pass skipped, by reason, most common first: what "see each node's decision" points at. */
function skipped(report: QuantReport): string | undefined {
  const reasons = new Map<string, string[]>();
  for (const d of report.nodes) if (d.action === 'skipped') reasons.set(d.reason, [...(reasons.get(d.reason) ?? []), d.opType]);
  if (!reasons.size) return undefined;
  const top = [...reasons].sort((a, b) => b[1].length - a[1].length).slice(0, 3);
  const ops = (list: string[]) => [...new Set(list)].map((op) => `${list.filter((o) => o === op).length} ${op}`).join(', ');
  return `int8: skipped ${top.map(([reason, list]) => `${ops(list)}: ${reason}`).join('; ')}${reasons.size > top.length ? `; and ${reasons.size - top.length} other reasons` : ''}`;
}

/** What the pass said, and when it changed nothing, that its variant is not run (it is the model as given). */
function passNotes(name: 'fp16' | 'int8', report: Fp16Report | QuantReport, same: boolean): string[] {
  const notes = report.warnings.map((w) => `${name}: ${w}`);
  if (name === 'int8' && same) notes.push(...[skipped(report as QuantReport)].filter((n): n is string => n !== undefined));
  if (same) {
    notes.push(name === 'fp16'
      ? 'fp16: nothing converted, so not run: the variant would be the model as given (the fp32 row)'
      : 'int8: no node quantized, so not run: the variant would be the model as given (the fp32 row)');
  }
  return [...new Set(notes)];
}

/** Ops of a model already quantized (as graph-ops' quantize counts them). */
const QUANTIZED_OPS = new Set([
  'MatMulInteger', 'ConvInteger', 'QLinearMatMul', 'QLinearConv', 'DynamicQuantizeLinear', 'QuantizeLinear',
  'DynamicQuantizeMatMul', 'MatMulIntegerToFloat', 'QAttention', 'QGemm', 'MatMulNBits', 'DynamicQuantizeLSTM', 'GatherBlockQuantized',
]);

/**
 * What the model as given is: whether it computes in float16 (`half`), and when it is not a float32
 * model (float16 already, or quantized already) a note on the fp32 row saying so: the row is the model
 * as given, the reference.
 */
function given(source: Model): { half: boolean; note?: string } {
  const f16 = firstFloat16Compute(source, { foldsConstants: true });
  if (f16) return { half: true, note: `fp32: the model as given already computes in float16 (from node ${f16.node}, ${f16.opType}): the fp32 row is that model, the reference the others are compared with` };
  const ops = new Map<string, number>();
  for (const { node } of source.allNodes()) if (QUANTIZED_OPS.has(node.opType)) ops.set(node.opType, (ops.get(node.opType) ?? 0) + 1);
  if (ops.size) return { half: false, note: `fp32: the model as given is already quantized (it holds ${[...ops].map(([op, n]) => `${n} ${op}`).join(', ')}): the fp32 row is that model, the reference the others are compared with` };
  return { half: false };
}

/**
 * Runs a variant's session on every feed and returns each output's agreement with `want`, sample by
 * sample as it goes (a variant's outputs are not kept: on a 1024×1024 segmenter they weigh 120 MB a sample).
 */
async function compareAll(session: Ort.InferenceSession, rt: Runtime, feeds: readonly RunnerFeeds[], want: readonly RunnerFeeds[]): Promise<OutputAccuracy[]> {
  const agreements = Object.keys(want[0] ?? {}).map((name) => ({ name, a: new OutputAgreement(name) }));
  for (const [k, f] of feeds.entries()) {
    const got = fromOrt(await runTensors(session, toOrtFeeds(rt.ort, f)));
    for (const { name, a } of agreements) a.add(want[k]?.[name] as RunnerFeeds[string], got[name]);
  }
  return agreements.map(({ a }) => a.value);
}

/** Runs one variant's session on every feed, one after another. */
async function runAll(session: Ort.InferenceSession, rt: Runtime, feeds: readonly RunnerFeeds[]): Promise<RunnerFeeds[]> {
  const out: RunnerFeeds[] = [];
  for (const f of feeds) {
    out.push(fromOrt(await runTensors(session, toOrtFeeds(rt.ort, f))));
  }
  return out;
}

/** A share as the page writes it: "31.9 %", "< 0.1 %". */
function percent(x: number): string {
  if (!Number.isFinite(x)) return 'NaN/Inf';
  return x === 0 ? '0 %' : x < 0.001 ? '< 0.1 %' : `${(x * 100).toFixed(1)} %`;
}

/** An error's first line, shortened: onnxruntime's messages can run to a stack of kernel names. */
function short(e: unknown): string {
  const text = (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
  return text.length > 240 ? `${text.slice(0, 240)}…` : text;
}

/**
 * Makes the FP16 and INT8 variants of `bytes` with graph-ops, in this page, then loads each in
 * onnxruntime-web and measures its size, latency (warm runs: p50 and the mean, each with its 95 %
 * interval, and p90) and accuracy against the float32 model as given, run on WebAssembly, on seeded
 * inputs (symbolic dimensions sized so the model runs, as the CLI sizes them). FP16 is also probed at
 * large input spreads, where float16 can overflow. A variant its pass left unchanged is not run again;
 * one onnxruntime-web cannot load or run is marked failed. Nothing leaves the browser. It runs in the
 * page's worker (optimize-worker.ts): a WebAssembly session.run holds its thread until it returns.
 */
export async function optimizeInBrowser(bytes: Uint8Array, rt: Runtime, onProgress: (p: Progress) => void, sideFiles: readonly File[] = []): Promise<VariantResult[]> {
  const total = 7;
  let done = 0;
  let current = '';
  const step = (text: string) => {
    current = text;
    onProgress({ step: text, done, total });
    done++;
  };
  try {
    return await optimize(bytes, sideFiles, rt, step, () => onProgress({ step: 'done', done: total, total }));
  } catch (e) {
    throw new Error(`${current}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

interface Made {
  name: VariantResult['name'];
  /** Undefined when the pass changed nothing. */
  file?: Uint8Array;
  makeMs: number;
  notes: string[];
  half: boolean;
  /** A node onnxruntime-web's WebGPU (JSEP) computes wrong (core's firstJsepMiscompute): then the variant runs on wasm. */
  miscompute?: JsepMiscompute;
}

/** The last part of an external data location ("weights/model.onnx.data" → "model.onnx.data"): a dropped file has no folder. */
const baseName = (location: string) => location.split(/[\\/]/).pop() ?? location;

/**
 * The model with the weights it keeps in side files (external data) put inside it: one buffer, as
 * onnxruntime-web takes a model and graph-ops' variants are made. The side files are read a region at
 * a time (core's blobSource, synchronous reads in this worker), matched to each location by file name.
 */
async function withSideFiles(bytes: Uint8Array, sideFiles: readonly File[]): Promise<Uint8Array> {
  const byName = new Map(sideFiles.map((f) => [f.name, f]));
  const model = await openModel(memorySource(bytes, 'the model'), {
    externalData: (location) => {
      const file = byName.get(baseName(location));
      if (!file) throw new ForgeError(ForgeErrorCode.EXTERNAL_DATA, `the model keeps weights in "${location}", which is not among the files given with it (${[...byName.keys()].join(', ')})`);
      return blobSource(file, location);
    },
  });
  return model.encode();
}

/** Refuses a model that keeps weights in side files not given with it, naming them. */
function checkNoExternalData(source: Model): void {
  const locations = [...new Set(externalLocations(source.proto).map(baseName))];
  if (!locations.length) return;
  const files = locations.map((l) => `"${l}"`).join(', ');
  throw new ForgeError(ForgeErrorCode.EXTERNAL_DATA, `the model keeps its weights in ${locations.length === 1 ? 'a side file' : 'side files'} (external data), ${files}: pick or drop ${locations.length === 1 ? 'it' : 'them'} together with the model, all at once`);
}

async function optimize(modelBytes: Uint8Array, sideFiles: readonly File[], rt: Runtime, step: (text: string) => void, finished: () => void): Promise<VariantResult[]> {
  const target = rt.ep;
  step('reading the model');
  const bytes = sideFiles.length ? await withSideFiles(modelBytes, sideFiles) : modelBytes;
  const source = Model.decode(bytes);
  checkNoExternalData(source);

  step('sizing seeded test inputs');
  const fit = await fitSeededDims(webRunner(rt), source);
  const samples = Array.from({ length: SAMPLES }, (_, i) => seededFeeds(source, { seed: i + 1, dims: fit.dims }));
  const sampleNote = `${SAMPLES} seeded inputs${fittedNote(fit)}`;

  // `half`: the variant computes in float16 (a model dropped in that already does, or nodes the fp16
  // pass converted), which needs shader-f16 on WebGPU; onnxruntime folds float16 weights' casts at load.
  const half = (m: Model) => firstFloat16Compute(m, { foldsConstants: true }) !== undefined;
  const as = given(source);
  // Asked only on webgpu: the node onnxruntime-web's WebGPU would compute wrong, which would also poison later sessions' programs.
  const miscompute = (m: Model) => (target === 'webgpu' ? firstJsepMiscompute(m) : undefined);
  const made: Made[] = [{ name: 'fp32', file: bytes, makeMs: 0, notes: as.note ? [as.note] : [], half: as.half, miscompute: miscompute(source) }];
  // Each pass in its own function, so the decoded copy is garbage once its file is encoded.
  const make = async (name: 'fp16' | 'int8', pass: (m: Model) => Promise<Fp16Report | QuantReport>): Promise<Made> => {
    const t0 = performance.now();
    const m = Model.decode(bytes);
    const report = await pass(m);
    const same = unchanged(name, report);
    return { name, ...(same ? {} : { file: m.encode() }), makeMs: performance.now() - t0, notes: passNotes(name, report, same), half: !same && half(m), miscompute: same ? undefined : miscompute(m) };
  };
  step('making FP16 (graph-ops fp16, keepIoTypes)');
  made.push(await make('fp16', (m) => convertToFp16(m, { keepIoTypes: true, target })));
  step('making INT8 (graph-ops int8-dynamic)');
  made.push(await make('int8', (m) => quantizeDynamic(m, { target })));

  const open = (file: Uint8Array, ep: 'webgpu' | 'wasm') => rt.ort.InferenceSession.create(file, { executionProviders: [ep], logSeverityLevel: LOG_ERRORS });
  /** The float32 model's session on WebAssembly and its answers, which every row is compared with (the CPU's answer, as the CLI's). */
  let reference: RunnerFeeds[] | undefined;
  let referenceSession: Ort.InferenceSession | undefined;
  let referenceCreateMs = 0;
  const results: VariantResult[] = [];
  try {
    for (const v of made) {
      if (!v.file) {
        step(`${v.name}: the pass changed nothing, not run`);
        results.push({ name: v.name, status: 'unchanged', bytes: bytes.byteLength, makeMs: v.makeMs, notes: v.notes });
        continue;
      }
      const file = v.file;
      const notes = [...v.notes];
      const noF16 = v.half && rt.ep === 'webgpu' && !rt.shaderF16;
      const wrong = v.miscompute;
      let ep: 'webgpu' | 'wasm' = noF16 || wrong ? 'wasm' : rt.ep;
      if (noF16) notes.push(`${v.name}: run on wasm, not webgpu: this WebGPU adapter lacks shader-f16, which its float16 nodes need (on webgpu the variant would load and answer zeros)`);
      else if (wrong) notes.push(`${v.name}: run on wasm, not webgpu: onnxruntime-web's WebGPU computes ${wrong.opType} node '${wrong.node}' wrong (${wrong.why})`);
      step(`running ${v.name} in onnxruntime-web (${ep}) on ${sampleNote}`);
      if (!reference) {
        // Without the model as given on WebAssembly there is nothing to compare with: the page says why it stopped.
        const c0 = performance.now();
        referenceSession = await open(bytes, 'wasm');
        referenceCreateMs = performance.now() - c0;
        reference = await runAll(referenceSession, rt, samples);
      }
      const want = reference;
      // The model as given on WebAssembly is the reference session itself: not loaded twice.
      const shared = () => v.name === 'fp32' && ep === 'wasm';
      let session: Ort.InferenceSession | undefined;
      let createMs = 0;
      let outputs: OutputAccuracy[];
      const load = async (): Promise<Ort.InferenceSession> => {
        if (shared()) {
          createMs = referenceCreateMs;
          return (session = referenceSession as Ort.InferenceSession);
        }
        const c0 = performance.now();
        session = await open(file, ep);
        createMs = performance.now() - c0;
        return session;
      };
      const release = async () => {
        if (session && session !== referenceSession) await session.release();
        session = undefined;
      };
      // A variant WebGPU cannot load or run still runs on WebAssembly; the provider column and a note say so.
      const onWasm = async (what: string, e: unknown) => {
        await release();
        notes.push(`${v.name}: run on wasm: webgpu could not ${what} it (${short(e)})`);
        ep = 'wasm';
      };
      try {
        try {
          await load();
        } catch (e) {
          if (ep === 'wasm') throw e;
          await onWasm('load', e);
          await load();
        }
        try {
          outputs = shared() ? agreement(want, want) : await compareAll(session as unknown as Ort.InferenceSession, rt, samples, want);
        } catch (e) {
          if (ep === 'wasm') throw e;
          await onWasm('run', e);
          const again = await load();
          outputs = shared() ? agreement(want, want) : await compareAll(again, rt, samples, want);
        }
      } catch (e) {
        await release();
        notes.push(`${v.name}: failed on ${ep}, not measured: ${short(e)}`);
        results.push({ name: v.name, status: 'failed', error: short(e), provider: ep, bytes: file.byteLength, makeMs: v.makeMs, notes, file });
        continue;
      }
      const s = session as unknown as Ort.InferenceSession;
      try {
        const feeds = toOrtFeeds(rt.ort, samples[0] as RunnerFeeds);
        for (let i = 0; i < WARMUP; i++) await runTensors(s, feeds);
        const times: number[] = [];
        const start = performance.now();
        while (times.length < RUNS && (times.length < MIN_RUNS || performance.now() - start < BUDGET_MS)) {
          const r0 = performance.now();
          await runTensors(s, feeds);
          times.push(performance.now() - r0);
        }
        const missed = problems(v.name, outputs);
        notes.push(...missed);
        if (missed.length && ep === 'webgpu') {
          // The same file on WebAssembly tells onnxruntime-web's WebGPU computing it wrong from the pass losing accuracy.
          const cpu = v.name === 'fp32' ? undefined : await open(file, 'wasm');
          try {
            const onCpu = cpu ? await compareAll(cpu, rt, samples, want) : agreement(want, want);
            const vectors = onCpu.filter((o) => o.elements > 1);
            const worst = `${vectors.length ? `cosine ${formatCosine(Math.min(...vectors.map((o) => o.cosine)))}, ` : ''}largest error ${percent(Math.max(...onCpu.map((o) => o.scaleError)))} of the output's scale`;
            notes.push(problems(v.name, onCpu).length
              ? `${v.name}: on wasm the same file misses the tolerance too (${worst}): the loss comes from the ${v.name} pass, not only from WebGPU`
              : `${v.name}: on wasm the same file meets the tolerance (${worst}): what it misses on webgpu comes from onnxruntime-web's WebGPU on this device${v.name === 'fp32' ? '' : `, not from the ${v.name} pass`}`);
          } finally {
            await cpu?.release();
          }
        }
        if (v.name !== 'fp32') {
          if (file.byteLength >= bytes.byteLength) notes.push(`${v.name}: the file is not smaller than fp32's`);
          // A model given in float16 overflows as its fp16 variant does: the probe would blame the variant for the reference's NaN.
          if (v.name === 'fp16' && referenceSession && !missed.length && !as.half) {
            const h = await fp16Headroom(source, fit.dims, rt, referenceSession, s);
            if (h) notes.push(h);
          }
        } else {
          const others = outputKinds(s).others;
          if (others.length) notes.push(`fp32: ${others.map((o) => `output ${o}`).join(', ')} ${others.length === 1 ? 'is a sequence or map' : 'are sequences or maps'}, which onnxruntime-web cannot return: not compared`);
        }
        const vectors = outputs.filter((o) => o.elements > 1);
        const classifiers = outputs.filter((o) => o.top1 !== undefined);
        // bench's statistics, as the CLI computes them: p50 with its 95 % interval, the mean with its margin.
        const l = latencyStats(times);
        results.push({
          name: v.name, status: 'measured', bytes: file.byteLength, makeMs: v.makeMs, createMs, runs: l.n,
          p50Ms: l.p50, p50Ci95Ms: l.p50Ci95, p90Ms: l.p90, meanMs: l.mean, meanMarginOfError95Ms: l.meanMarginOfError95,
          outputs,
          minCosine: Math.min(1, ...vectors.map((o) => o.cosine)),
          scaleError: Math.max(0, ...outputs.map((o) => o.scaleError)),
          top1: classifiers.length ? Math.min(...classifiers.map((o) => o.top1 as number)) : null,
          notes, provider: ep, file,
        });
      } finally {
        await release();
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
