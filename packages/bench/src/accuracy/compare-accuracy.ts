import type { RunnerFeeds } from '@onnx-forge/core';
import type { Outputs } from '@onnx-forge/runtime';
import { machineInfo, type MachineInfo } from '../measure/machine-info.js';
import { modelInputs, type ModelInputsOptions } from '../measure/model-inputs.js';
import { openModel, type BenchSource, type OpenModelOptions, type OpenedModel } from '../measure/open-model.js';
import { stageError, type StageError } from '../measure/stage-error.js';
import { measureAccuracy, type AccuracySummary } from './measure-accuracy.js';

/**
 * Options of compareAccuracy. Seeded inputs are sized to what the reference runs on: free symbolic dims
 * (not in `dims`) it does not run on at 1 are fitted on the reference's own session, unless `runner`
 * gives another runner to fit with. Sessions log fatal errors only (`sessionOptions.logSeverityLevel`
 * 4 unless given): a failure reaches the result, or the caller as a rejection, not onnxruntime's log.
 */
export interface CompareAccuracyOptions extends OpenModelOptions, ModelInputsOptions {
  /** Names of the candidates in the result (default: file names, or candidate-<i>). */
  names?: readonly string[];
  /** Seeded samples when no inputs are given (default 8). */
  count?: number;
}

export interface CandidateAccuracy {
  name: string;
  file?: string;
  bytes?: number;
  status: 'ok' | 'failed';
  accuracy?: AccuracySummary;
  error?: StageError;
}

export interface CompareAccuracyResult {
  reference: { name: string; file?: string; bytes?: number };
  /**
   * What was compared on. `from`: the folder, or the seeds with the sizes of fitted dims
   * ("seeds 1-8 (samples=4096)"); `dims`: seeded inputs' sizes of symbolic dims, given and fitted.
   */
  inputs: { source: 'seeded' | 'folder' | 'given'; from: string; samples: number; dims?: Record<string, number> } | null;
  /** Why nothing could be compared: the reference failed to load, or the inputs do not fit it. */
  error?: StageError;
  candidates: CandidateAccuracy[];
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
 */
export async function compareAccuracy(reference: BenchSource, candidates: readonly BenchSource[], options: CompareAccuracyOptions = {}): Promise<CompareAccuracyResult> {
  const machine = await machineInfo();
  const refName = sourceName(reference, 'reference');
  const names = candidates.map((c, i) => options.names?.[i] ?? sourceName(c, `candidate-${i + 1}`));
  const file = (s: BenchSource) => (typeof s === 'string' ? { file: s } : {});
  const nothing = (error: StageError, bytes?: number): CompareAccuracyResult => ({
    reference: { name: refName, ...file(reference), ...(bytes === undefined ? {} : { bytes }) },
    inputs: null,
    error,
    candidates: names.map((name, i) => ({ name, ...file(candidates[i] as BenchSource), status: 'failed', error: { stage: error.stage, code: error.code, message: `not compared: ${error.message}` } })),
    machine,
  });
  // Fatal only: failures are reported in the result (or thrown), and a probe of seeded sizes fails by design.
  options = { ...options, sessionOptions: { logSeverityLevel: 4, ...options.sessionOptions } };
  let ref: OpenedModel;
  try {
    ref = await openModel(reference, refName, options);
  } catch (e) {
    return nothing(stageError('load', e));
  }
  try {
    let inputs;
    try {
      // Seeded inputs: free dims the reference does not run on at 1 are sized to fit, on its own session.
      inputs = await modelInputs(ref.model, { ...options, count: options.count ?? 8, runner: options.runner ?? (await import('@onnx-forge/runtime')).sessionRunner(ref.session) });
    } catch (e) {
      return nothing(stageError('inputs', e), ref.bytes);
    }
    const refOutputs: Outputs[] = [];
    for (const f of inputs.feeds) refOutputs.push(await ref.run(f));
    const out: CandidateAccuracy[] = [];
    for (const [i, source] of candidates.entries()) {
      const name = names[i] as string;
      out.push(await compareOne(name, source, refOutputs, inputs.feeds, options, file(source)));
    }
    const dims = inputs.source === 'seeded' && inputs.dims && Object.keys(inputs.dims).length ? { dims: inputs.dims } : {};
    return { reference: { name: refName, ...file(reference), bytes: ref.bytes }, inputs: { source: inputs.source, from: inputs.from, samples: inputs.feeds.length, ...dims }, candidates: out, machine };
  } finally {
    await ref.close();
  }
}

async function compareOne(name: string, source: BenchSource, refOutputs: Outputs[], feeds: RunnerFeeds[], options: OpenModelOptions, file: { file?: string }): Promise<CandidateAccuracy> {
  let m: OpenedModel;
  try {
    m = await openModel(source, name, options);
  } catch (e) {
    return { name, ...file, status: 'failed', error: stageError('load', e) };
  }
  try {
    const mismatch = interfaceMismatch(m, Object.keys(feeds[0] ?? {}), Object.keys(refOutputs[0] ?? {}));
    // Other input names: nothing to run it on. Missing outputs: the ones it has are still compared.
    if (mismatch?.stage === 'inputs') return { name, ...file, bytes: m.bytes, status: 'failed', error: mismatch };
    const accuracy = await measureAccuracy(refOutputs, m.run, feeds);
    return mismatch ? { name, ...file, bytes: m.bytes, status: 'failed', accuracy, error: mismatch } : { name, ...file, bytes: m.bytes, status: 'ok', accuracy };
  } catch (e) {
    return { name, ...file, bytes: m.bytes, status: 'failed', error: stageError('accuracy', e) };
  } finally {
    await m.close();
  }
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
