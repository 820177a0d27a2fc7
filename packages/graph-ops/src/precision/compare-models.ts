import type { Model } from '@onnx-forge/core';
import type { ModelRunner, RunnerFeeds } from '@onnx-forge/core';
import { float16Feeds } from '../fp16/float16-feeds.js';
import { runnerValues } from '../fp16/runner-values.js';
import { runSamples } from './precision-search.js';
import { largestFinite, outputDifference, sampleDifference } from './output-difference.js';

/** How one output of a candidate compares with the reference, worst over the samples. */
export interface OutputAgreement {
  /** Smallest cosine similarity (1 - cosine difference; -Infinity when NaN/Inf appeared where the reference has finite values). */
  cosine: number;
  maxAbs: number;
  /** Values that are NaN or infinite in the candidate where the reference's are finite (summed over samples). */
  nonFinite: number;
  /** Values per sample of the reference (the most over the samples: an output is judged as one value per sample only when no sample has more). */
  elements: number;
  /** max |candidate - reference| / max |reference| over every sample (what one-value outputs are judged by: singleValueProblem). */
  scaleError: number;
  /**
   * Index of the sample that judged it worst: the first with NaN/Inf where the reference is finite (or
   * without the output), else for one value per sample the largest error, else the lowest cosine.
   */
  worstSample: number;
}

/**
 * Runs `reference` and `candidate` on the same samples and compares every tensor output of the reference:
 * cosine similarity, largest absolute difference and values that became NaN/Inf. Float16 outputs are
 * decoded; a candidate that takes float16 inputs gets float32 samples rounded to float16 (`feedsFor`).
 */
export async function compareModels(
  runner: ModelRunner,
  reference: Model,
  candidate: Model,
  samples: readonly RunnerFeeds[],
  feedsFor: (m: Model, f: RunnerFeeds) => RunnerFeeds = float16Feeds,
  onProgress?: (done: number, total: number) => void,
): Promise<Record<string, OutputAgreement>> {
  // Progress counts model runs: every sample on the reference, then on the candidate.
  const total = 2 * samples.length;
  const ref = await runSamples('compare', runner, reference, samples, 'the reference model', undefined, onProgress && ((d) => onProgress(d, total)));
  const got = await runSamples('compare', runner, candidate, samples.map((s) => feedsFor(candidate, s)), 'the candidate model', undefined, onProgress && ((d) => onProgress(samples.length + d, total)));
  const out: Record<string, OutputAgreement> = {};
  for (const name of reference.graph.outputNames()) {
    // Outputs the reference never returns (sequences and maps: onnxruntime's JavaScript builds fetch tensors only) are not compared.
    if (ref.length && ref.every((r) => !r[name])) continue;
    const a: OutputAgreement = { cosine: 1, maxAbs: 0, nonFinite: 0, elements: 0, scaleError: 0, worstSample: 0 };
    let refMax = 0;
    let broken: number | undefined;
    let lowest = 0;
    let largest = 0;
    for (const r of ref) if (r[name]) refMax = Math.max(refMax, largestFinite(runnerValues(r[name]) as number[]));
    for (let s = 0; s < samples.length; s++) {
      const r = ref[s]?.[name];
      const g = got[s]?.[name];
      if (!r || !g) {
        broken ??= s;
        a.cosine = -Infinity;
        continue;
      }
      const rv = runnerValues(r) as number[];
      const gv = runnerValues(g) as number[];
      const nonFiniteBefore = a.nonFinite;
      for (let i = 0; i < rv.length; i++) if (Number.isFinite(rv[i]) && !Number.isFinite(gv[i])) a.nonFinite++;
      // A sample whose reference is negligible next to the output's scale is judged by its error at that scale (sampleDifference).
      const cosine = 1 - sampleDifference('cosine', rv, gv, refMax);
      if (a.nonFinite > nonFiniteBefore) broken ??= s;
      if (cosine < a.cosine) lowest = s;
      a.cosine = Math.min(a.cosine, cosine);
      const maxAbs = outputDifference('max-abs', rv, gv);
      if (maxAbs > a.maxAbs) largest = s;
      a.maxAbs = Math.max(a.maxAbs, maxAbs);
      a.elements = Math.max(a.elements, rv.length);
    }
    a.worstSample = broken ?? (a.elements === 1 ? largest : lowest);
    a.scaleError = refMax > 0 ? a.maxAbs / refMax : a.maxAbs > 0 ? Infinity : 0;
    out[name] = a;
  }
  return out;
}
