import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import {
  ForgeError, ForgeErrorCode, Model, checkModel, declaredDims, readModel, repairInput, uncreatableFile, writeModel, type ModelRunner, type RunnerFeeds,
} from '@onnx-forge/core';
import { INT8_ISAS, autoMixedPrecision, firstOverflow, headroomFailures, headroomFeeds, headroomWhat, loadSamples, modelInputSpecs, singleValueProblem, toleranceProblem, type Fp16Headroom, type Int8Isa } from '@onnx-forge/graph-ops';
import type { Outputs, SessionOptions } from '@onnx-forge/runtime';
import { sourceName } from '../accuracy/compare-accuracy.js';
import { measureAccuracy } from '../accuracy/measure-accuracy.js';
import { defaultBenchClock, type BenchClock } from '../measure/bench-clock.js';
import { compareLatency } from '../measure/compare-latency.js';
import { latencyStats } from '../measure/latency-stats.js';
import { machineInfo } from '../measure/machine-info.js';
import { measureInterleavedSettled } from '../measure/measure-interleaved.js';
import { throwIfAborted } from '../measure/measure-runs.js';
import { modelInputs, type ModelInputs } from '../measure/model-inputs.js';
import { openModel, type OpenedModel } from '../measure/open-model.js';
import { stageError, type Stage, type StageError } from '../measure/stage-error.js';
import { peakRssBytes } from '../isolate.js';
import { writeReports } from '../report/write-reports.js';
import { TARGETS, type ManifestTensor, type Target } from '../repository/manifest.js';
import { readManifest } from '../repository/read-repository.js';
import { VersionStager, listVersions } from '../repository/version-stager.js';
import { batchSweep } from './batch-sweep.js';
import { givenPrecision } from './given-precision.js';
import { PREFERENCES, chooseVariant, type Prefer } from './choose-variant.js';
import { DEFAULT_BUILDERS, type VariantBuilder, type VariantContext } from './make-variant.js';
import type { OptimizeResult, VariantResult } from './optimize-result.js';
import { toManifest } from './optimize-result.js';
import { rewriteMessages, unstagePaths } from './staged-paths.js';
import { VARIANT_NAMES, isVariantName, variantPrecision, type VariantName } from './variant-name.js';

export interface OptimizeOptions {
  /** Folder for the model repository (`<out>/repository`) and the reports (`<out>/report.{json,md,html}`). */
  out: string;
  /** Model name in the repository (default: the file name without .onnx). */
  name?: string;
  /** Runtime the variants are made for and measured on (default cpu). */
  target?: Target;
  /** Backend and providers to measure on (default from target: cpu → node/cpu, wasm → web/wasm, webgpu and cuda → node). */
  backend?: 'node' | 'web';
  providers?: readonly string[];
  sessionOptions?: SessionOptions;
  prefer?: Prefer;
  /** Smallest cosine similarity to FP32 a variant must keep on every output and sample (default 0.99). */
  tolerance?: number;
  /** Calibration samples for int8-static: a folder (`.pb`, `.npy`, JSON) or feeds. Without them int8-static is skipped. */
  calibration?: string | readonly RunnerFeeds[];
  /** Evaluation inputs: a folder or feeds (default seeded from the model's inputs). */
  inputs?: string | readonly RunnerFeeds[];
  /** Values of symbolic input dimensions for seeded inputs. */
  dims?: Readonly<Record<string, number>>;
  /** Spread of seeded float inputs (modelInputs' inputScale; default 1). */
  inputScale?: number;
  seed?: number;
  /** Seeded samples for accuracy (default 8). */
  samples?: number;
  /** Timed runs per variant (default 30) and warm-up runs (default 5). */
  runs?: number;
  warmup?: number;
  /** Measure each variant at these batch sizes too (models with a batch dimension). */
  batchSizes?: readonly number[];
  /** CPUs INT8 weights must stay accurate on (default portable: any x86 or ARM CPU). */
  isa?: Int8Isa;
  /** Variants to make (default all four; int8-static only with calibration data). */
  variants?: readonly VariantName[];
  /** Measure each variant's peak memory in a process of its own. */
  isolate?: boolean;
  /** Replace how a variant is made. */
  builders?: Partial<Record<VariantName, VariantBuilder>>;
  /** Write report.json, report.md and report.html (default true). */
  reports?: boolean;
  /**
   * Add the version even when the repository already holds a model of that name whose inputs or
   * outputs differ from this one's (its clients would break); without it that is refused
   * (FORGE_INVALID_OPTIONS) before any work.
   */
  force?: boolean;
  clock?: BenchClock;
  /**
   * Stops the work at the next step (FORGE_CANCELLED): nothing is added to the repository (the staged
   * version is removed) and no reports are written.
   */
  signal?: AbortSignal;
  onProgress?: (event: OptimizeProgress) => void;
}

export interface OptimizeProgress {
  phase: 'read' | 'inputs' | 'convert' | 'check' | 'load' | 'accuracy' | 'benchmark' | 'memory' | 'batch' | 'write';
  variant?: VariantName;
  done: number;
  total: number;
  message: string;
}

const PROVIDERS: Record<Target, { backend: 'node' | 'web'; providers: string[] }> = {
  cpu: { backend: 'node', providers: ['cpu'] },
  wasm: { backend: 'web', providers: ['wasm'] },
  webgpu: { backend: 'node', providers: ['webgpu'] },
  cuda: { backend: 'node', providers: ['cuda'] },
};

function invalid(message: string, option: string): ForgeError {
  return new ForgeError(ForgeErrorCode.INVALID_OPTIONS, message, { details: { option } });
}

function checkOptions(o: OptimizeOptions): void {
  if (typeof o.out !== 'string' || o.out === '') throw invalid('out: give the folder to write the repository and reports to', 'out');
  if (o.target !== undefined && !TARGETS.includes(o.target)) throw invalid(`target must be one of ${TARGETS.join(', ')}, got ${String(o.target)}`, 'target');
  if (o.prefer !== undefined && !PREFERENCES.includes(o.prefer)) throw invalid(`prefer must be one of ${PREFERENCES.join(', ')}, got ${String(o.prefer)}`, 'prefer');
  if (o.tolerance !== undefined && !(o.tolerance > 0 && o.tolerance <= 1)) throw invalid(`tolerance is a cosine similarity in (0, 1], got ${o.tolerance}`, 'tolerance');
  if (o.runs !== undefined && !(Number.isInteger(o.runs) && o.runs >= 3)) throw invalid(`runs must be an integer >= 3 (intervals need runs), got ${o.runs}`, 'runs');
  if (o.warmup !== undefined && !(Number.isInteger(o.warmup) && o.warmup >= 0)) throw invalid(`warmup must be an integer >= 0, got ${o.warmup}`, 'warmup');
  if (o.samples !== undefined && !(Number.isInteger(o.samples) && o.samples >= 1)) throw invalid(`samples must be an integer >= 1, got ${o.samples}`, 'samples');
  if (o.isa !== undefined && !INT8_ISAS.includes(o.isa)) throw invalid(`isa must be one of ${INT8_ISAS.join(', ')}, got ${String(o.isa)}`, 'isa');
  for (const b of o.batchSizes ?? []) if (!(Number.isInteger(b) && b >= 1)) throw invalid(`batch sizes must be positive integers, got ${b}`, 'batchSizes');
  for (const v of o.variants ?? []) if (!isVariantName(v)) throw invalid(`unknown variant ${String(v)}; variants are ${VARIANT_NAMES.join(', ')}`, 'variants');
  // Every variant is checked against FP32's outputs: without it none could be, and every one would fail.
  if (o.variants && !o.variants.includes('fp32')) throw invalid(`variants must include fp32, the reference every other variant is compared with (got ${o.variants.join(', ') || 'none'})`, 'variants');
  if (o.name !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(o.name)) throw invalid(`name ${JSON.stringify(o.name)} cannot be a repository folder: use letters, digits, '.', '_' and '-'`, 'name');
}

/**
 * A repository folder name from a file name, within the names a repository and the demo server take
 * (letters, digits, '.', '_', '-', ASCII as in KServe/Triton paths): accented letters lose their
 * accents ("ö" → "o"), other runs of characters become one '-', and none is left at either end.
 */
export function folderName(name: string): string {
  const ascii = name.normalize('NFKD').replace(/\p{M}+/gu, '');
  const s = ascii.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').replace(/-+$/, '');
  return s || 'model';
}

/**
 * Creates `out` (and the folders above it) and returns the first folder it made, as mkdir does; a
 * failure is FORGE_IO naming `out` and the reason (core's uncreatableFile), from the nearest folder
 * that exists.
 */
async function makeFolder(out: string): Promise<string | undefined> {
  const exists = (p: string) => stat(p).then(() => true, () => false);
  const missing: string[] = [];
  let existing = out;
  while (!(await exists(existing)) && dirname(existing) !== existing) {
    missing.unshift(existing);
    existing = dirname(existing);
  }
  // One level at a time: Node's recursive mkdir spins forever where a file system answers ENOENT to
  // every mkdir (/proc).
  try {
    const st = await stat(existing);
    if (!st.isDirectory()) throw Object.assign(new Error('not a folder'), { code: 'ENOTDIR' });
    for (const dir of missing) await mkdir(dir).catch((e: NodeJS.ErrnoException) => (e.code === 'EEXIST' ? undefined : Promise.reject(e)));
  } catch (e) {
    throw uncreatableFile(out, existing, e, { folderExists: true });
  }
  return missing[0];
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function tensors(specs: ReturnType<typeof modelInputSpecs>): ManifestTensor[] {
  return specs.map((s) => ({ name: s.name, type: s.type, shape: s.dims ? [...s.dims] : null }));
}

function outputTensors(model: Model): ManifestTensor[] {
  return model.graph.outputs.map((v) => {
    const t = v.type?.tensorType;
    const shape = declaredDims(t?.shape);
    return { name: v.name, type: t ? dtypeOf(t.elemType ?? 0) : 'unknown', shape };
  });
}

function dtypeOf(elem: number): string {
  const names: Record<number, string> = { 1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string', 9: 'bool', 10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64' };
  return names[elem] ?? `type ${elem}`;
}

/**
 * After accuracy on seeded inputs near ±1: the first of graph-ops' HEADROOM_SCALES at which the FP16
 * variant turns an output NaN/Inf where FP32 stays finite (float16 overflows past 65504; an audio front
 * end fed int16-scale samples does, though ±1 never shows it) or below the cosine tolerance. Models
 * without float inputs are not probed; a probe that fails to run says nothing (the variant's own
 * accuracy stands).
 */
async function probeHeadroom(fp32: Model, ref: OpenedModel, candidate: OpenedModel, seeded: { seed: number; dims: Record<string, number> }, tolerance: number): Promise<Fp16Headroom | undefined> {
  try {
    const feeds = headroomFeeds(fp32, seeded.seed, seeded.dims);
    if (!feeds) return undefined;
    const reference: Outputs[] = [];
    for (const f of feeds) reference.push(await ref.run(f));
    return await firstOverflow(async (upTo) => {
      const a = await measureAccuracy(reference.slice(0, upTo), candidate.run, feeds.slice(0, upTo));
      return headroomFailures(a.outputs, tolerance);
    });
  } catch {
    return undefined;
  }
}

const short = (sha: string) => (sha ? `sha256 ${sha.slice(0, 12)}` : 'no hash');
const signature = (t: readonly ManifestTensor[]) => t.map((x) => `${x.name}: ${x.type}`).join(', ');

/**
 * What the repository already holds under `name`, against the model this run adds: nothing to say when
 * there is no earlier version or it came from the same source (the same bytes); a warning when it came
 * from other bytes with the same inputs and outputs (retrained weights are a new version; two different
 * models under one name are a mistake the user must see); a refusal when the inputs or outputs differ,
 * since whoever serves or calls that name would get a model that takes or gives something else.
 */
async function previousVersion(repository: string, name: string, r: OptimizeResult): Promise<{ warning?: string; refuse?: string }> {
  const versions = await listVersions(join(repository, name));
  const last = versions[versions.length - 1];
  if (last === undefined) return {};
  let m;
  try {
    m = await readManifest(repository, name, last);
  } catch (e) {
    return { warning: `the repository's model "${name}" version ${last} has no readable manifest (${stageError('read', e).message}); this run adds version ${last + 1} beside it without checking that it is the same model` };
  }
  if (m.source.sha256 && m.source.sha256 === r.source.sha256) return {};
  const before = `version ${last} of "${name}" came from ${m.source.file ?? 'a model in memory'} (${short(m.source.sha256)})`;
  const now = `${r.source.file ?? 'a model in memory'} (${short(r.source.sha256)})`;
  const ins = signature(m.inputs) !== signature(r.graph.inputs);
  const outs = signature(m.outputs) !== signature(r.graph.outputs);
  if (ins || outs) {
    const what = [ins ? `inputs ${signature(m.inputs) || 'none'} there, ${signature(r.graph.inputs) || 'none'} here` : '', outs ? `outputs ${signature(m.outputs) || 'none'} there, ${signature(r.graph.outputs) || 'none'} here` : ''].filter(Boolean).join('; ');
    return {
      refuse: `${before}, a model with other inputs or outputs than ${now} (${what}): adding it as version ${last + 1} would change what clients of "${name}" send and get. ` +
        'Give it a name of its own (--name), or force it (--force) if it really replaces that model',
      warning: `${before}, a model with other inputs or outputs than ${now} (${what}); added as version ${last + 1} as forced`,
    };
  }
  return { warning: `${before}; this run adds version ${last + 1} from a different model file, ${now}. If it is not a new version of the same model, give it a name of its own (--name)` };
}

/** A warning when report.json/md/html of an earlier run are in `out` and are about to be replaced. */
async function earlierReports(out: string): Promise<string | undefined> {
  const present = (await Promise.all(['report.json', 'report.md', 'report.html'].map((f) => stat(join(out, f)).then(() => f, () => undefined)))).filter(Boolean);
  if (!present.length) return undefined;
  let which = '';
  try {
    const old = JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as Partial<OptimizeResult>;
    const at = old.repository ? `, whose figures stay in ${join(old.repository.path, 'manifest.json')}` : '';
    which = ` (model ${String(old.model)}${old.repository ? ` version ${old.repository.version}` : ''}, ${String(old.startedAt)}${at})`;
  } catch {
    // An unreadable report.json still gets replaced; the warning names no run.
  }
  return `${present.join(', ')} in ${out} replaced the reports of an earlier run${which}`;
}

/** The report's note on a headroom the FP16 variant lacks. */
function headroomNote(h: Fp16Headroom): string {
  return `float16 fails at larger inputs: at an input spread of ${h.scale} (${h.what}), ${headroomWhat(h)} against FP32; ` +
    `if the model's inputs are that large, optimize with inputScale ${h.scale} (--input-scale) to measure FP16 on them`;
}

/** The first output of one value per sample whose error passes what the tolerance allows (cosine cannot judge it). */
function singleValue(v: VariantResult, tolerance: number): { accuracyProblem?: string } {
  for (const o of v.accuracy?.outputs ?? []) {
    const problem = singleValueProblem(o, tolerance);
    if (problem) return { accuracyProblem: `output "${o.output}": ${problem}` };
  }
  return {};
}

/** Targets whose FP16 variant computes in float16 (cpu and wasm store weights as float16 and compute in float32). */
const FLOAT16_COMPUTE: ReadonlySet<Target> = new Set(['webgpu', 'cuda']);
/** fp16-auto searches on seeds this far past the measurement's, so the accuracy reported is on inputs it never saw. */
const SEARCH_SEED_OFFSET = 100;

/** Whether a measured variant misses the tolerance (NaN/Inf, a cosine below it, or a one-value output past its bound). */
function missesTolerance(v: VariantResult, tolerance: number): boolean {
  return !v.accuracy || v.accuracy.outputs.some((o) => toleranceProblem(o, tolerance) !== undefined);
}

interface Live {
  v: VariantResult;
  m: OpenedModel;
  path: string;
}

/**
 * From one FP32 model, makes the FP16, INT8-dynamic and (with calibration data) INT8-static variants,
 * checks each (core's checker, then a load and a first run in onnxruntime on the chosen provider),
 * measures accuracy against FP32 on the same inputs, times all of them side by side (interleaved),
 * optionally at several batch sizes and in isolated processes for memory, picks the best under the
 * preference and the accuracy tolerance, and writes a new version of the model into the repository
 * (`<out>/repository/<model>/<n>/`, every usable variant and manifest.json) and the reports.
 *
 * Bad input does not stop the work: a model that cannot be read, a variant that fails its check or
 * does not load, inputs or calibration data that do not fit the model are each recorded with stage
 * and error code (in `errors`, on the variant, in the manifest and the reports), and the other
 * variants still complete. `best` is null when nothing could be chosen. Options that make no sense
 * throw FORGE_INVALID_OPTIONS before anything is done.
 */
export async function optimizeModel(source: string | Model, options: OptimizeOptions): Promise<OptimizeResult> {
  checkOptions(options);
  const clock = options.clock ?? defaultBenchClock;
  const t0 = clock.now();
  const startedAt = new Date().toISOString();
  const target = options.target ?? 'cpu';
  const backend = options.backend ?? PROVIDERS[target].backend;
  const providers = [...(options.providers ?? PROVIDERS[target].providers)];
  const prefer = options.prefer ?? 'auto';
  const tolerance = options.tolerance ?? 0.99;
  const seed = options.seed ?? 1;
  const runs = options.runs ?? 30;
  const warmup = options.warmup ?? 5;
  const isa = options.isa ?? 'portable';
  const out = resolve(options.out);
  const requested = new Set(options.variants ?? VARIANT_NAMES);
  const progress = options.onProgress ?? (() => {});
  const name = options.name ?? folderName(sourceName(source, 'model'));
  const file = typeof source === 'string' ? resolve(source) : null;

  const result: OptimizeResult = {
    model: name, source: { file, bytes: 0, sha256: '' }, out, target, backend, providers, prefer, tolerance: { metric: 'cosine', min: tolerance },
    inputs: null, calibration: null, graph: { inputs: [], outputs: [] },
    settings: { runs, warmup, seed, dims: { ...options.dims }, isa, isolate: options.isolate ?? false },
    variants: VARIANT_NAMES.map((n) => ({ name: n, precision: variantPrecision(n), status: requested.has(n) ? 'failed' : 'skipped', notes: [], ...(requested.has(n) ? {} : { reason: 'not requested' }) })),
    comparisons: [], best: null, reason: '', batch: null, repository: null, reports: null, errors: [], warnings: [],
    machine: await machineInfo(), startedAt, durationMs: 0,
  };
  const variant = (n: VariantName) => result.variants.find((v) => v.name === n) as VariantResult;
  const fail = (v: VariantResult, error: StageError) => {
    v.status = 'failed';
    v.error = error;
    v.reason = `${error.stage}: ${error.code}: ${error.message}`;
    result.errors.push({ ...error, variant: v.name });
  };
  const record = (stage: Stage, e: unknown) => {
    const err = stageError(stage, e);
    result.errors.push(err);
    return err;
  };
  // The folder this call made, if any: made once the model is read (a model that cannot be read
  // leaves `out` as it was, and earlier reports there in place), and removed again when the call turns
  // out to be a mistake (a dimension the model does not have) or is cancelled, so neither leaves
  // anything behind.
  let madeOut: string | undefined;

  const finish = async (reports = true): Promise<OptimizeResult> => {
    result.durationMs = clock.now() - t0;
    if (options.reports !== false && reports) {
      const earlier = await earlierReports(out);
      if (earlier) result.warnings.push(earlier);
      progress({ phase: 'write', done: 0, total: 1, message: 'writing the reports' });
      result.reports = await writeReports(result, out);
      result.durationMs = clock.now() - t0;
    }
    return result;
  };

  // 1. The FP32 model.
  progress({ phase: 'read', done: 0, total: 1, message: `reading ${file ?? name}` });
  let fp32: Model;
  try {
    fp32 = typeof source === 'string' ? await readModel(source) : source;
    // What onnxruntime accepts although the spec does not (nodes out of order, repeated node names) is
    // repaired as fp16 and quantize repair it, and said; every variant starts from the repaired model.
    for (const r of repairInput(fp32, checkModel(fp32), {}).repairs) result.warnings.push(`the model as read: ${r}`);
    if (file) result.source = { file, bytes: (await stat(file)).size, sha256: await sha256File(file) };
    else {
      const bytes = fp32.encode();
      result.source = { file: null, bytes: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex') };
    }
  } catch (e) {
    const err = stageError('read', e);
    // A file that exists but is not a model: the report still gives its size and hash.
    if (file) {
      const size = await stat(file).then((st) => (st.isFile() ? st.size : undefined), () => undefined);
      if (size !== undefined) result.source = { file, bytes: size, sha256: await sha256File(file).catch(() => '') };
    }
    fail(variant('fp32'), err);
    for (const v of result.variants) {
      if (v.name !== 'fp32' && v.status === 'failed') {
        v.error = { stage: 'read', code: err.code, message: `not made: the FP32 model could not be read (${err.code})` };
        v.reason = v.error.message;
      }
    }
    result.reason = `nothing to choose: the model could not be read: ${err.code}: ${err.message}`;
    return finish(false);
  }
  // A model float16 or INT8 already is named fp32 (the reference) all the same: say so.
  const given = givenPrecision(fp32);
  if (given) {
    result.warnings.push(`the model given is ${given.detail}: the variant named fp32 is that model as given, and the others are made from it and compared with it, not with a float32 original; ` +
      'optimize the float32 model it came from to measure what float16 and INT8 cost');
  }
  madeOut = await makeFolder(out);
  result.graph = { inputs: tensors(modelInputSpecs(fp32)), outputs: outputTensors(fp32) };
  const previous = await previousVersion(join(out, 'repository'), name, result);
  if (previous.refuse && !options.force) {
    if (madeOut) await rm(madeOut, { recursive: true, force: true });
    throw invalid(previous.refuse, 'name');
  }
  if (previous.warning) result.warnings.push(previous.warning);

  // 2. Evaluation inputs (a folder that does not fit is reported, and seeded inputs take its place).
  progress({ phase: 'inputs', done: 0, total: 1, message: 'preparing inputs' });
  const sampleCount = options.samples ?? 8;
  let inputs: ModelInputs | undefined;
  let runner: ModelRunner | undefined;
  const modelRunner = async (): Promise<ModelRunner> => {
    const { OrtRunner } = await import('@onnx-forge/runtime');
    // Fatal only: a run that fails (a probe of seeded input sizes, a variant that breaks) is reported in the result, not as onnxruntime log lines.
    runner ??= new OrtRunner({ sessionOptions: { logSeverityLevel: 4 } }) as unknown as ModelRunner;
    return runner;
  };
  // Seeded inputs are sized to what the model runs on (an audio front end needs more than 1 sample).
  const seeded = { seed, count: sampleCount, runner: await modelRunner(), ...(options.dims ? { dims: options.dims } : {}), ...(options.inputScale === undefined ? {} : { inputScale: options.inputScale }) };
  try {
    inputs = await modelInputs(fp32, { ...seeded, ...(options.inputs ? { inputs: options.inputs } : {}) });
  } catch (e) {
    // Dimension names the model does not have are a mistake in the call, not in the data.
    if ((e as { code?: string }).code === ForgeErrorCode.INVALID_OPTIONS) {
      if (madeOut) await rm(madeOut, { recursive: true, force: true });
      throw e;
    }
    const err = stageError('inputs', e);
    if (options.inputs) {
      try {
        inputs = await modelInputs(fp32, seeded);
        err.message = `${err.message}; measured on seeded inputs instead`;
      } catch {
        // Seeded inputs cannot be made either (an input without a shape): reported below.
      }
    }
    result.errors.push(err);
    if (!inputs) {
      for (const v of result.variants) if (v.status === 'failed' && !v.error) fail(v, { ...err, message: `not measured: ${err.message}` });
      result.reason = `nothing to choose: no inputs to measure on (${err.code})`;
      return finish();
    }
  }
  const evalFeeds = inputs.feeds;
  const timingFeeds = evalFeeds[0] as RunnerFeeds;
  result.inputs = {
    source: inputs.source, from: inputs.from, samples: evalFeeds.length,
    shapes: Object.fromEntries(Object.entries(timingFeeds).map(([k, t]) => [k, { type: t.type, dims: [...t.dims] }])),
  };

  // 3. Calibration data for int8-static.
  let calibration: RunnerFeeds[] | undefined;
  const staticVariant = variant('int8-static');
  if (requested.has('int8-static')) {
    if (options.calibration === undefined) {
      staticVariant.status = 'skipped';
      staticVariant.reason = 'no calibration data: give calibration samples (a folder of .pb, .npy or JSON) to make int8-static';
    } else {
      try {
        calibration = typeof options.calibration === 'string' ? await loadSamples(options.calibration, { inputs: fp32 }) : [...options.calibration];
        result.calibration = { from: typeof options.calibration === 'string' ? options.calibration : 'samples in memory', samples: calibration.length };
      } catch (e) {
        fail(staticVariant, stageError('calibration', e));
      }
    }
  }

  // 4. Make, check, write and load every variant.
  const context: VariantContext = { target, isa, calibration, runner: modelRunner };
  const repository = join(out, 'repository');
  const stager = await VersionStager.begin(repository, name);
  let committed = false;
  const live: Live[] = [];
  // FP32's size as written, what every variant's size is compared with (kept if FP32 itself then fails to load).
  let fp32Bytes: number | undefined;
  try {
    const todo = VARIANT_NAMES.filter((n) => requested.has(n) && !variant(n).error && variant(n).status !== 'skipped');
    for (const [i, n] of todo.entries()) {
      throwIfAborted(options.signal, 'optimize');
      const v = variant(n);
      v.status = 'ok';
      progress({ phase: 'convert', variant: n, done: i, total: todo.length, message: `making ${n}` });
      const builder = options.builders?.[n] ?? DEFAULT_BUILDERS[n];
      const model = n === 'fp32' && !options.builders?.fp32 ? fp32 : fp32.clone();
      const tc = clock.now();
      try {
        v.notes = (await builder(model, context)) ?? [];
      } catch (e) {
        const err = stageError(n === 'int8-static' && (e as { code?: string }).code === 'FORGE_BAD_SAMPLES' ? 'calibration' : 'convert', e);
        fail(v, err);
        continue;
      }
      v.convertMs = clock.now() - tc;
      progress({ phase: 'check', variant: n, done: i, total: todo.length, message: `checking ${n}` });
      const check = checkModel(model);
      const errors = check.problems.filter((p) => p.severity === 'error');
      if (errors.length) {
        fail(v, {
          stage: 'check', code: ForgeErrorCode.INVALID_GRAPH,
          message: `the checker found ${errors.length} error(s): ${errors.slice(0, 3).map((p) => `${p.code} ${p.message}`).join('; ')}${errors.length > 3 ? '; …' : ''}`,
        });
        continue;
      }
      const fileName = `${n}.onnx`;
      const path = stager.path(fileName);
      try {
        const w = await writeModel(model, path);
        v.file = fileName;
        v.bytes = w.bytes + (w.externalData?.bytes ?? 0);
        v.sha256 = await sha256File(path);
        if (n === 'fp32') fp32Bytes = v.bytes;
      } catch (e) {
        // A half-written file is not left in the version.
        await dropFile(v, path);
        fail(v, stageError('write', e));
        continue;
      }
      // A conversion that changed nothing (a model already in float16 or INT8) is the same file as a
      // variant before it: a second copy to serve and to time would only tie with the first.
      const same = result.variants.find((o) => o !== v && o.sha256 === v.sha256 && o.file !== undefined && o.status === 'ok');
      if (same) {
        await dropFile(v, path);
        v.status = 'skipped';
        // On a model float16 or INT8 already, that is why; the pass's first note would only count nodes "kept float32".
        const why = given ? `the model given is ${given.detail}` : v.notes[0];
        v.reason = `the same model as ${same.name} (the conversion changed nothing${why ? `: ${why}` : ''})`;
        continue;
      }
      progress({ phase: 'load', variant: n, done: i, total: todo.length, message: `loading ${n} on ${backend}/${providers.join(',')}` });
      let m: OpenedModel;
      try {
        m = await openModel(path, n, { backend, providers, ...(options.sessionOptions ? { sessionOptions: options.sessionOptions } : {}), clock });
      } catch (e) {
        await dropFile(v, path);
        fail(v, stageError('load', e));
        continue;
      }
      Object.assign(v, { backend: m.backend, provider: m.provider, createMs: m.createMs });
      v.memory = { scope: 'process', rssBeforeBytes: m.rssBeforeBytes, rssDeltaBytes: m.rssDeltaBytes, peakRssBytes: 0 };
      const tf = clock.now();
      try {
        await m.run(timingFeeds);
      } catch (e) {
        await m.close();
        await dropFile(v, path);
        fail(v, stageError('first-run', e));
        continue;
      }
      v.firstRunMs = clock.now() - tf;
      live.push({ v, m, path });
    }
    for (const v of result.variants) if (v.bytes !== undefined && fp32Bytes) v.sizeRatio = v.bytes / fp32Bytes;

    // 5. Accuracy against FP32 on the same inputs.
    throwIfAborted(options.signal, 'optimize');
    const ref = live.find((l) => l.v.name === 'fp32');
    if (ref) {
      let refOutputs: Outputs[] | undefined;
      try {
        refOutputs = [];
        for (const f of evalFeeds) refOutputs.push(await ref.m.run(f));
      } catch (e) {
        refOutputs = undefined;
        record('accuracy', e);
      }
      for (const [i, l] of live.entries()) {
        throwIfAborted(options.signal, 'optimize');
        progress({ phase: 'accuracy', variant: l.v.name, done: i, total: live.length, message: `comparing ${l.v.name} with fp32 on ${evalFeeds.length} sample(s)` });
        if (!refOutputs) {
          fail(l.v, { stage: 'accuracy', code: 'FORGE_RUNTIME', message: 'not compared: the FP32 reference failed on the inputs' });
          continue;
        }
        try {
          l.v.accuracy = await measureAccuracy(refOutputs, l.m.run, evalFeeds);
        } catch (e) {
          fail(l.v, stageError('accuracy', e));
        }
      }
      // Sequence and map outputs (a classifier's ZipMap) do not come back from onnxruntime-node: no accuracy
      // covers them, which compare says and so must optimize.
      for (const o of ref.m.session.outputMetadata.filter((md) => md.type === undefined)) {
        result.warnings.push(`output "${o.name}" is a sequence or map, which onnxruntime-node cannot return: no variant's accuracy covers it`);
      }
      // FP32 compared with itself shows where the reference has nothing to compare with: inputs outside
      // the model's domain (log of a negative sum), left out of every variant's accuracy. Said, as a
      // variant measured on fewer samples than asked is.
      for (const o of ref.v.accuracy?.outputs ?? []) {
        if (o.refEmptySamples) {
          result.warnings.push(`fp32 gives NaN/Inf for every value of output "${o.output}" on ${o.refEmptySamples} of ${o.samples} samples: they are left out of every variant's accuracy; ` +
            'if the model\'s real inputs never give NaN, measure on them (inputs, --inputs)');
        }
      }
      const fp16 = live.find((l) => l.v.name === 'fp16' && l.v.status === 'ok' && l.v.accuracy);
      // FP16 computed in float16 that misses the tolerance is redone as the CLI's fp16 does: fp16-auto keeps
      // float32 the nodes responsible, searching on seeded inputs the measurement never uses.
      if (fp16 && refOutputs && FLOAT16_COMPUTE.has(target) && !options.builders?.fp16 && missesTolerance(fp16.v, tolerance)) {
        progress({ phase: 'convert', variant: 'fp16', done: 0, total: 1, message: 'fp16 misses the tolerance: redoing it with fp16-auto' });
        const seededSearch = { seed: seed + SEARCH_SEED_OFFSET, count: 6, dims: inputs.dims ?? {}, ...(options.inputScale === undefined ? {} : { inputScale: options.inputScale }) };
        const search = inputs.source === 'seeded' ? (await modelInputs(fp32, seededSearch)).feeds : evalFeeds;
        try {
          const redone = fp32.clone();
          const auto = await autoMixedPrecision(redone, await modelRunner(), search, { target, keepIoTypes: true, metric: 'cosine', tolerance: Number((1 - tolerance).toPrecision(12)) });
          const w = await writeModel(redone, fp16.path);
          await fp16.m.close();
          fp16.m = await openModel(fp16.path, 'fp16', { backend, providers, ...(options.sessionOptions ? { sessionOptions: options.sessionOptions } : {}), clock });
          Object.assign(fp16.v, { bytes: w.bytes + (w.externalData?.bytes ?? 0), sha256: await sha256File(fp16.path), createMs: fp16.m.createMs });
          if (fp32Bytes) fp16.v.sizeRatio = (fp16.v.bytes as number) / fp32Bytes;
          fp16.v.accuracy = await measureAccuracy(refOutputs, fp16.m.run, evalFeeds);
          const kept = auto.keptFloat32.map((k) => k.node);
          fp16.v.notes.push(`redone with fp16-auto: the plain conversion missed the tolerance; ${kept.length} node${kept.length === 1 ? '' : 's'} kept float32 (${kept.slice(0, 6).join(', ')}${kept.length > 6 ? ', …' : ''})`);
        } catch (e) {
          fp16.v.notes.push(`fp16-auto could not bring FP16 within the tolerance either: ${stageError('convert', e).message}`);
        }
      }
      // A variant that already misses the tolerance near ±1 has nothing to learn from larger inputs.
      if (fp16 && refOutputs && inputs.source === 'seeded' && options.inputScale === undefined && !missesTolerance(fp16.v, tolerance)) {
        progress({ phase: 'accuracy', variant: 'fp16', done: live.length - 1, total: live.length, message: 'probing float16 headroom at larger inputs' });
        const headroom = await probeHeadroom(fp32, ref.m, fp16.m, { seed, dims: inputs.dims ?? {} }, tolerance);
        if (headroom) {
          fp16.v.headroom = headroom;
          fp16.v.notes.push(headroomNote(headroom));
        }
      }
    } else {
      for (const l of live) fail(l.v, { stage: 'accuracy', code: variant('fp32').error?.code ?? 'FORGE_RUNTIME', message: 'not compared: FP32, the reference, did not load and run' });
    }

    // 6. Latency, every variant side by side.
    throwIfAborted(options.signal, 'optimize');
    const measured = live.filter((l) => l.v.status === 'ok');
    if (measured.length) {
      try {
        // A variant whose run throws is reported failed; the others are measured again without it.
        const { times, failed } = await measureInterleavedSettled(measured.map((l) => ({ name: l.v.name, run: () => l.m.run(timingFeeds) })), {
          runs, warmup, seed, clock, ...(options.signal ? { signal: options.signal } : {}),
          onProgress: (done, total) => progress({ phase: 'benchmark', done, total, message: `${measured.length} variants interleaved, round ${done}/${total}` }),
        });
        for (const l of measured) {
          if (failed.has(l.v.name)) {
            fail(l.v, stageError('benchmark', failed.get(l.v.name)));
            continue;
          }
          const t = times.get(l.v.name);
          if (!t) continue;
          Object.assign(l.v, { warmupMs: t.warmupMs, samplesMs: t.samplesMs, latency: latencyStats(t.samplesMs) });
        }
      } catch (e) {
        if ((e as { code?: string }).code === ForgeErrorCode.CANCELLED) throw e;
        for (const l of measured) fail(l.v, stageError('benchmark', e));
      }
      const peak = peakRssBytes();
      for (const l of measured) if (l.v.memory) l.v.memory.peakRssBytes = peak;
    }

    // 7. Memory, each variant in a process of its own.
    if (options.isolate) {
      const { benchIsolated } = await import('../measure/isolated-bench.js');
      const withLatency = live.filter((l) => l.v.latency);
      for (const [i, l] of withLatency.entries()) {
        throwIfAborted(options.signal, 'optimize');
        progress({ phase: 'memory', variant: l.v.name, done: i, total: withLatency.length, message: `peak memory of ${l.v.name} in its own process` });
        const r = await benchIsolated(l.path, l.v.name, {
          runs: Math.min(runs, 10), warmup: 1, seed, backend, providers, ...(options.dims ? { dims: options.dims } : {}),
          ...(options.sessionOptions ? { sessionOptions: options.sessionOptions } : {}), ...(typeof options.inputs === 'string' && inputs.source === 'folder' ? { inputs: options.inputs } : {}),
        });
        if (r.memory) l.v.memory = r.memory;
        else if (r.error) result.errors.push({ ...r.error, stage: 'benchmark', variant: l.v.name, message: `peak memory not measured: ${r.error.message}` });
      }
    }

    // 8. Batch sizes.
    if (options.batchSizes?.length) {
      const withLatency = live.filter((l) => l.v.latency);
      result.batch = await batchSweep(fp32, withLatency.map((l) => ({ name: l.v.name, run: (f: RunnerFeeds) => l.m.run(f) })), {
        sizes: options.batchSizes, dims: { ...options.dims }, feeds: timingFeeds, seed, runs: Math.max(3, Math.ceil(runs / 2)), warmup: Math.min(warmup, 2), clock,
        ...(options.signal ? { signal: options.signal } : {}),
        onProgress: (done, total, batch) => progress({ phase: 'batch', done, total, message: `batch size ${batch}` }),
      });
      if (result.batch.error) result.errors.push(result.batch.error);
    }
    throwIfAborted(options.signal, 'optimize');

    // 9. The choice.
    for (const v of result.variants) if (v.status === 'ok' && !v.latency && !v.error) fail(v, { stage: 'benchmark', code: 'FORGE_RUNTIME', message: 'not timed' });
    const worst = (v: VariantResult) => v.accuracy?.outputs.reduce((a, o) => (o.cosine < a.cosine ? o : a))?.output;
    const choice = chooseVariant(result.variants.map((v) => ({
      name: v.name, status: v.status, ...(v.bytes !== undefined ? { bytes: v.bytes } : {}), ...(v.latency ? { latency: v.latency } : {}),
      ...(v.accuracy ? { minCosine: v.accuracy.minCosine } : {}), ...(worst(v) ? { worstOutput: worst(v) as string } : {}),
      ...singleValue(v, tolerance),
    })), prefer, tolerance);
    for (const r of choice.rejected) Object.assign(variant(r.name), { status: 'rejected', reason: r.reason });
    result.best = choice.best;
    result.reason = choice.reason + noiseNote(result.variants);
    const base = variant('fp32');
    if (base.latency) {
      for (const v of result.variants) {
        if (v.name !== 'fp32' && v.latency) result.comparisons.push(compareLatency({ name: 'fp32', latency: base.latency }, { name: v.name, latency: v.latency }));
      }
    }
  } finally {
    for (const l of live) await l.m.close().catch(() => {});
    // 10. The repository version, when anything usable was written and the work was not cancelled
    // (then the staged files are removed and the cancellation reaches the caller). Files of variants
    // that all failed (the reference broke on the inputs) make no version: serve would refuse it, and
    // as the highest version it would hide the last good one.
    // Messages name files where they were made, in the staging folder, which is renamed or removed
    // now: they are made to name the file in the version folder, or the variant when its file is not kept.
    let staged = new Set<string>();
    try {
      if (!options.signal?.aborted && result.variants.some((v) => v.file && v.status !== 'failed')) {
        progress({ phase: 'write', done: 0, total: 1, message: `writing ${name} to the repository` });
        const provider = live[0]?.v.provider ?? providers[0] ?? '';
        staged = new Set(await readdir(stager.dir));
        const createdAt = new Date().toISOString();
        const { version, dir } = await stager.commit((_version, dir) => {
          const copy = rewriteMessages(structuredClone(result), (s) => unstagePaths(s, stager.dir, dir, staged));
          return toManifest(copy, createdAt, provider);
        });
        committed = true;
        result.repository = { dir: repository, model: name, version, path: dir };
        for (const v of result.variants) if (v.file) v.file = join(dir, v.file);
      }
    } catch (e) {
      record('write', e);
    } finally {
      if (!committed) {
        await stager.abort();
        // Nothing was kept: no variant names a file.
        for (const v of result.variants) delete v.file;
      }
      rewriteMessages(result, (s) => unstagePaths(s, stager.dir, result.repository?.path ?? null, committed ? staged : new Set()));
      // Cancelled: what this call made goes too (the staged version and the folders above it are gone already).
      if (options.signal?.aborted && madeOut) await rm(madeOut, { recursive: true, force: true });
    }
  }
  throwIfAborted(options.signal, 'optimize');
  return finish();
}

/**
 * A warning for the reason when timings are too noisy to rank variants with confidence: a median whose
 * 95 % interval is as wide as the median itself (a shared machine, too few runs), else "".
 */
export function noiseNote(variants: readonly Pick<VariantResult, 'name' | 'latency'>[]): string {
  const noisy = variants.filter((v) => v.latency && v.latency.p50Ci95[1] - v.latency.p50Ci95[0] >= v.latency.p50).map((v) => v.name);
  return noisy.length
    ? `; the timings are noisy (the 95 % interval of the median is as wide as the median for ${noisy.join(', ')}): rerun with more --runs or on a quieter machine before trusting the ranking`
    : '';
}

/**
 * Removes a variant's file (it failed to write, load or run) and what the result said of it: its name,
 * size and hash describe no file any more, so none of them is reported.
 */
async function dropFile(v: VariantResult, path: string): Promise<void> {
  await rm(path, { force: true });
  await rm(`${path}.data`, { force: true });
  delete v.file;
  delete v.bytes;
  delete v.sizeRatio;
  delete v.sha256;
}

