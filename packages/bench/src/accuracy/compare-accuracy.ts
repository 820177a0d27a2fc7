import { ForgeError, ForgeErrorCode, type RunnerFeeds } from '@onnx-forge/core';
import { toleranceProblem } from '@onnx-forge/graph-ops';
import { machineInfo, type MachineInfo } from '../measure/machine-info.js';
import { modelSamples, type ModelInputsOptions, type ModelSamples } from '../measure/model-inputs.js';
import { openModel, type BenchSource, type OpenModelOptions, type OpenedModel } from '../measure/open-model.js';
import { stageError, type StageError } from '../measure/stage-error.js';
import { cosineToleranceProblem } from './cosine-tolerance.js';
import { AccuracyAccumulator, type AccuracySummary } from './measure-accuracy.js';

/**
 * Options of compareAccuracy. Seeded inputs are sized to what the reference runs on: free symbolic dims
 * (not in `dims`) it does not run on at 1 are fitted on the reference's own session, unless `runner`
 * gives another runner to fit with. Sessions log fatal errors only (`sessionOptions.logSeverityLevel`
 * 4 unless given): a failure reaches the result, or the caller as a rejection, not onnxruntime's log.
 * They run without onnxruntime's CPU memory arena and memory pattern unless `sessionOptions` enables
 * them (see compareAccuracy).
 */
export interface CompareAccuracyOptions extends OpenModelOptions, ModelInputsOptions {
  /** Names of the candidates in the result (default: file names, or candidate-<i>). */
  names?: readonly string[];
  /** Seeded samples when no inputs are given (default 8). */
  count?: number;
  /**
   * Smallest cosine similarity every output must keep, in (0, 1] (cosineToleranceProblem): the result
   * then names the candidates that miss it (`belowTolerance`), by graph-ops' toleranceProblem.
   */
  tolerance?: number;
}

/** Where a model ran: onnxruntime's JavaScript backend (node, web) and the execution provider of its session. */
export interface RanOn {
  backend: string;
  provider: string;
}

/** `backend` and `provider`: where it ran (absent when it did not load). */
export interface CandidateAccuracy extends Partial<RanOn> {
  name: string;
  file?: string;
  bytes?: number;
  status: 'ok' | 'failed';
  accuracy?: AccuracySummary;
  error?: StageError;
}

export interface CompareAccuracyResult {
  /**
   * `nonTensorOutputs`: the reference's sequence and map outputs (ZipMap's probabilities), which
   * onnxruntime's JavaScript builds cannot return, so they are not compared; absent when there are none.
   */
  reference: { name: string; file?: string; bytes?: number; nonTensorOutputs?: string[] } & Partial<RanOn>;
  /**
   * What was compared on. `from`: the folder, or the seeds with the sizes of fitted dims
   * ("seeds 1-8 (samples=4096)"); `dims`: seeded inputs' sizes of symbolic dims, given and fitted.
   */
  inputs: { source: 'seeded' | 'folder' | 'given'; from: string; samples: number; dims?: Record<string, number> } | null;
  /** Why nothing could be compared: the reference failed to load or to run on a sample, or the inputs do not fit it. */
  error?: StageError;
  candidates: CandidateAccuracy[];
  /** The tolerance asked for, and the candidates with an output that misses it (failed ones are not listed). */
  tolerance?: number;
  belowTolerance?: string[];
  /** What was asked for: onnxruntime's backend and the providers in order ([]: the backend's default). */
  settings: { backend: string; providers: string[] };
  machine: MachineInfo;
}

/** A display name for a source: its file name without .onnx, else `fallback`. */
export function sourceName(source: BenchSource, fallback: string): string {
  return typeof source === 'string' ? (source.split(/[\\/]/).pop() ?? source).replace(/\.onnx$/i, '') || fallback : fallback;
}

/**
 * Runs the reference and every candidate on the same inputs (seeded from the reference's inputs, or a
 * folder of samples) and compares each output: max absolute and relative error, cosine similarity and,
 * for classifier-shaped outputs, top-1 agreement. A candidate that cannot be read or loaded, or whose
 * run fails, is reported with its stage and code; the others still complete. A reference that fails,
 * or inputs that do not fit it (FORGE_BAD_SAMPLES), leave nothing to compare on: the result's `error`
 * says so and every candidate is marked as not compared.
 *
 * Memory does not grow with the number of samples: every model is loaded first (so it grows with the
 * candidates' weights instead), then each sample is made, run on the reference and on every candidate,
 * folded into per-output running figures and dropped before the next (a 12-output 1024×1024
 * segmentation model has ~120 MB of outputs per sample). Sessions are created without onnxruntime's
 * CPU memory arena and memory pattern (`enableCpuMemArena` and `enableMemPattern` false unless
 * `sessionOptions` says otherwise): with every session open, each one's arena would hold on to its
 * peak activations (~1 GB each on such a model, twice that with the memory pattern), while without
 * them a run's activations are freed when it ends. Runs of large models are somewhat slower for it
 * (fresh pages every run); the results do not depend on it.
 */
export async function compareAccuracy(reference: BenchSource, candidates: readonly BenchSource[], options: CompareAccuracyOptions = {}): Promise<CompareAccuracyResult> {
  const { tolerance } = options;
  const problem = tolerance === undefined ? undefined : cosineToleranceProblem(tolerance);
  if (problem) throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `compareAccuracy: ${problem}; got ${tolerance}`, { details: { option: 'tolerance' } });
  const machine = await machineInfo();
  const settings = { backend: options.backend ?? 'node', providers: [...(options.providers ?? [])] };
  const asked = tolerance === undefined ? {} : { tolerance, belowTolerance: [] };
  const refName = sourceName(reference, 'reference');
  // Apart from each other and from the reference, as bench names a model measured twice: with the same
  // name twice, the table and the JSON could not tell which row is which file.
  const seen = new Map<string, number>([[refName, 1]]);
  const names = candidates.map((c, i) => {
    const base = options.names?.[i] ?? sourceName(c, `candidate-${i + 1}`);
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return n === 1 ? base : `${base}#${n}`;
  });
  const file = (s: BenchSource) => (typeof s === 'string' ? { file: s } : {});
  const nothing = (error: StageError, opened?: OpenedModel, inputs: CompareAccuracyResult['inputs'] = null): CompareAccuracyResult => ({
    reference: { name: refName, ...file(reference), ...(opened ? { bytes: opened.bytes, ...ranOn(opened) } : {}) },
    inputs,
    error,
    candidates: names.map((name, i) => ({ name, ...file(candidates[i] as BenchSource), status: 'failed', error: { stage: error.stage, code: error.code, message: `not compared: ${error.message}` } })),
    ...asked,
    settings,
    machine,
  });
  // Fatal only: failures are reported in the result (or thrown), and a probe of seeded sizes fails by design.
  options = { ...options, sessionOptions: { logSeverityLevel: 4, enableCpuMemArena: false, enableMemPattern: false, ...options.sessionOptions } };
  let ref: OpenedModel;
  try {
    ref = await openModel(reference, refName, options);
  } catch (e) {
    return nothing(stageError('load', e));
  }
  const open: Candidate[] = [];
  try {
    let inputs: ModelSamples;
    let first: RunnerFeeds | undefined;
    try {
      // Seeded inputs: free dims the reference does not run on at 1 are sized to fit, on its own session.
      inputs = await modelSamples(ref.model, { ...options, count: options.count ?? 8, runner: options.runner ?? (await import('@onnx-forge/runtime')).sessionRunner(ref.session) });
      // Made here so that inputs that cannot be made fail as inputs, as when every sample was made up front.
      first = inputs.count > 0 ? inputs.feed(0) : undefined;
    } catch (e) {
      return nothing(stageError('inputs', e), ref);
    }
    const all: Candidate[] = [];
    for (const [i, source] of candidates.entries()) {
      const c = await openCandidate(names[i] as string, source, file(source));
      all.push(c);
      if (c.model) open.push(c);
    }
    for (let i = 0; i < inputs.count; i++) {
      const feeds = i === 0 ? (first as RunnerFeeds) : inputs.feed(i);
      if (i === 0) first = undefined;
      let refOutputs: Awaited<ReturnType<OpenedModel['run']>>;
      try {
        refOutputs = await ref.run(feeds);
      } catch (e) {
        // The reference itself fails on these inputs: nothing can be compared with it, as when it does
        // not load; the result says so (this threw, losing the result and the sample it failed on).
        const err = stageError('accuracy', e);
        return nothing({ ...err, message: `the reference failed on sample ${i + 1} of ${inputs.count}: ${err.message}` }, ref, { source: inputs.source, from: inputs.from, samples: inputs.count });
      }
      for (const c of [...open]) {
        if (i === 0) check(c, Object.keys(feeds), Object.keys(refOutputs));
        if (c.error?.stage !== 'inputs') {
          try {
            c.accuracy.add(refOutputs, await (c.model as OpenedModel).run(feeds));
            continue;
          } catch (e) {
            c.error = stageError('accuracy', e);
            c.failedRun = true;
          }
        }
        // Nothing more to compare it on: its session goes now rather than at the end.
        open.splice(open.indexOf(c), 1);
        await c.model?.close();
      }
    }
    // No samples: the interface is still checked, as on the first one.
    if (inputs.count === 0) for (const c of open) check(c, [], []);
    const out = all.map((c) => candidateResult(c, inputs.count));
    const dims = inputs.source === 'seeded' && inputs.dims && Object.keys(inputs.dims).length ? { dims: inputs.dims } : {};
    const containers = ref.session.outputMetadata.filter((m) => m.type === undefined).map((m) => m.name);
    const below = tolerance === undefined ? {} : { tolerance, belowTolerance: out.filter((c) => c.accuracy?.outputs.some((o) => toleranceProblem(o, tolerance))).map((c) => c.name) };
    return {
      reference: { name: refName, ...file(reference), bytes: ref.bytes, ...ranOn(ref), ...(containers.length ? { nonTensorOutputs: containers } : {}) },
      inputs: { source: inputs.source, from: inputs.from, samples: inputs.count, ...dims }, candidates: out, ...below, settings, machine,
    };
  } finally {
    for (const c of open) await c.model?.close();
    await ref.close();
  }

  async function openCandidate(name: string, source: BenchSource, where: { file?: string }): Promise<Candidate> {
    try {
      return { name, where, model: await openModel(source, name, options), accuracy: new AccuracyAccumulator() };
    } catch (e) {
      return { name, where, error: stageError('load', e), accuracy: new AccuracyAccumulator() };
    }
  }
}

const ranOn = (m: OpenedModel): RanOn => ({ backend: m.backend, provider: m.provider });

/** A candidate being compared: its session (unless it failed to load), running figures and first error. */
interface Candidate {
  name: string;
  where: { file?: string };
  model?: OpenedModel;
  accuracy: AccuracyAccumulator;
  error?: StageError;
  /** A run failed: its figures so far are not reported. */
  failedRun?: boolean;
}

function check(c: Candidate, feedNames: readonly string[], refOutputNames: readonly string[]): void {
  // Other input names: nothing to run it on. Missing outputs: the ones it has are still compared.
  c.error ??= interfaceMismatch(c.model as OpenedModel, feedNames, refOutputNames);
}

function candidateResult(c: Candidate, samples: number): CandidateAccuracy {
  const { name, where } = c;
  if (!c.model) return { name, ...where, status: 'failed', ...(c.error ? { error: c.error } : {}) };
  const loaded = { name, ...where, bytes: c.model.bytes, ...ranOn(c.model) };
  if (c.failedRun || c.error?.stage === 'inputs') return { ...loaded, status: 'failed', ...(c.error ? { error: c.error } : {}) };
  const accuracy = c.accuracy.summary(samples);
  return c.error ? { ...loaded, status: 'failed', accuracy, error: c.error } : { ...loaded, status: 'ok', accuracy };
}

const list = (names: readonly string[]) => names.map((n) => `"${n}"`).join(', ') || 'none';

/**
 * Inputs and outputs are matched by name: a candidate whose inputs are not the reference's cannot be
 * run on the same samples, and one that lacks an output of the reference cannot be compared on it.
 * Both are said plainly (FORGE_BAD_INPUT, naming both sides) rather than left to onnxruntime's
 * "unknown input" or a cosine of -Infinity that looks like a measurement.
 */
function interfaceMismatch(m: OpenedModel, refInputs: readonly string[], refOutputs: readonly string[]): StageError | undefined {
  const inputs = m.session.inputNames;
  const unknown = refInputs.filter((n) => !inputs.includes(n));
  const unfed = inputs.filter((n) => !refInputs.includes(n));
  if (unknown.length || unfed.length) {
    return {
      stage: 'inputs', code: 'FORGE_BAD_INPUT',
      message: `its inputs (${list(inputs)}) are not the reference's (${list(refInputs)}): compare runs every model on the same samples, matched by input name; rename the inputs, or compare models of the same interface`,
    };
  }
  const missing = refOutputs.filter((n) => !m.session.outputNames.includes(n));
  if (missing.length) {
    return {
      stage: 'accuracy', code: 'FORGE_BAD_INPUT',
      message: `it has no output ${list(missing)} of the reference (its outputs: ${list(m.session.outputNames)}); outputs are matched by name, so ${missing.length === 1 ? 'that one was' : 'those were'} not compared`,
    };
  }
  return undefined;
}
