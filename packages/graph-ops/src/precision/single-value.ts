import { FLOAT16_MIN_NORMAL } from '@onnx-forge/core';

/**
 * Cosine similarity says nothing about an output of one value per sample (a wake-word score, a voice
 * activity probability): any two values of the same sign have cosine 1, so a check on cosine alone
 * passes whatever the error. Such outputs are judged by their largest error relative to the output's
 * scale over the samples, max |y - x| / max |x|, against what the cosine tolerance allows an error
 * orthogonal to a vector output: sqrt(2 (1 - c)), 14.1 % at 0.99 (cos θ = c, |error| = 2 sin(θ/2)).
 */
export function singleValueBound(cosineTolerance: number): number {
  return Math.sqrt(2 * Math.max(0, 1 - cosineTolerance));
}

/**
 * The cosine distance (1 - cosine) a one-value output's scale-relative error stands for, the inverse
 * of singleValueBound: an error e is within the bound of tolerance c exactly when e² / 2 <= 1 - c.
 */
export function singleValueDistance(scaleError: number): number {
  return (scaleError * scaleError) / 2;
}

/** What a one-value output's agreement needs: its values per sample and its scale-relative error. */
export interface SingleValueAgreement {
  /** Values per sample. */
  elements: number;
  /** max |candidate - reference| / max |reference| over every sample. */
  scaleError: number;
}

/** Why a one-value-per-sample output fails the cosine tolerance's bound, or undefined (other outputs, or within it). */
export function singleValueProblem(a: SingleValueAgreement, cosineTolerance: number): string | undefined {
  if (a.elements !== 1) return undefined;
  const bound = singleValueBound(cosineTolerance);
  if (!(a.scaleError > bound)) return undefined;
  const pct = (v: number) => (Number.isFinite(v) ? `${(v * 100).toFixed(1)} %` : String(v));
  return `one value per sample, where cosine is 1 whatever the error: the largest error is ${pct(a.scaleError)} of the output's largest value, above the ${pct(bound)} the cosine tolerance ${cosineTolerance} allows`;
}

/** Cosine similarity with enough digits to tell 0.9999 from 1 ("NaN" for a broken output). */
export function formatCosine(c: number): string {
  if (!Number.isFinite(c)) return 'NaN';
  return c >= 0.9999 ? c.toFixed(6) : c.toFixed(4);
}

/** An output's agreement with float32 as far as the cosine tolerance goes. */
export interface ToleranceAgreement extends SingleValueAgreement {
  /** Smallest cosine similarity over the samples. */
  cosine: number;
  /** Values NaN or infinite where float32's are finite. */
  nonFinite: number;
  /** Largest |candidate - reference|: with scaleError, it tells how large the reference's values are. */
  maxAbs?: number;
}

/**
 * What a low cosine may mean when every value of the reference's output lies below float16's smallest
 * normal value (2^-14: below it float16 itself holds only a few bits) on these samples (a text
 * detector's map on noise, a sigmoid saturated at 1e-6): the direction of such a vector turns with
 * the smallest absolute change, so seeded inputs may judge it where real ones would not.
 */
function nearZeroNote(a: ToleranceAgreement): string {
  if (a.maxAbs === undefined || !(a.scaleError > 0)) return '';
  const largest = a.maxAbs / a.scaleError;
  if (!(largest < FLOAT16_MIN_NORMAL)) return '';
  return ` (the output is near zero on these inputs: its largest value is ${largest.toExponential(2)} and the largest difference ${a.maxAbs.toExponential(2)}; ` +
    'inputs that resemble real ones, given with --inputs, may judge it otherwise)';
}

/**
 * Why an output misses a cosine tolerance, or undefined when it holds: NaN/Inf where float32 had none,
 * a cosine below the tolerance, or, for one value per sample, an error past singleValueBound. The one
 * rule the CLI's checks, compare and optimize's choice apply.
 */
export function toleranceProblem(a: ToleranceAgreement, tolerance: number): string | undefined {
  if (a.nonFinite > 0) return `NaN/Inf in ${a.nonFinite} value${a.nonFinite === 1 ? '' : 's'} where float32 had none`;
  if (!(a.cosine >= tolerance)) return `cosine ${formatCosine(a.cosine)} is below ${tolerance}${nearZeroNote(a)}`;
  return singleValueProblem(a, tolerance);
}
