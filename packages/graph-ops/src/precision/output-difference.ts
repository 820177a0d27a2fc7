import { singleValueDistance } from './single-value.js';

/** How output differences are measured (per output, per sample; the worst counts). */
export const DIFFERENCE_METRICS = ['rel-l2', 'max-abs', 'cosine'] as const;
export type DifferenceMetric = (typeof DIFFERENCE_METRICS)[number];

/**
 * Difference of `got` from the reference `ref` under `metric`: rel-l2 ||got - ref|| / ||ref||,
 * max-abs max |got - ref|, cosine 1 - cos(got, ref), over the values where the reference is finite.
 * A NaN or infinity where the reference has a finite value, or a length mismatch, is an infinite
 * difference; where the reference itself is NaN/Inf (float32 overflowing at a large input spread)
 * there is nothing to compare with, and a reference with no finite value differs by 0 from anything:
 * a candidate is not blamed for inputs outside the reference's own range.
 */
export function outputDifference(metric: DifferenceMetric, ref: ArrayLike<number>, got: ArrayLike<number>): number {
  if (ref.length !== got.length) return Infinity;
  // Sums over values scaled by each side's largest: float64 outputs past 1e154 would square to
  // Infinity, and below 1e-162 to 0. Cosine and rel-l2 are ratios, which the scale leaves as they are.
  let sr = 0, sg = 0;
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i] as number;
    if (!Number.isFinite(r)) continue;
    const g = got[i] as number;
    if (!Number.isFinite(g)) return Infinity;
    sr = Math.max(sr, Math.abs(r));
    sg = Math.max(sg, Math.abs(g));
  }
  sr ||= 1;
  sg ||= 1;
  let dot = 0, nr = 0, ng = 0, d2 = 0, maxAbs = 0;
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i] as number;
    if (!Number.isFinite(r)) continue;
    const g = got[i] as number;
    const d = g - r;
    const rs = r / sr, gs = g / sg, ds = d / sr;
    dot += rs * gs;
    nr += rs * rs;
    ng += gs * gs;
    d2 += ds * ds;
    maxAbs = Math.max(maxAbs, Math.abs(d));
  }
  switch (metric) {
    case 'max-abs': return maxAbs;
    case 'cosine': return nr === 0 && ng === 0 ? 0 : nr === 0 || ng === 0 ? 1 : 1 - dot / Math.sqrt(nr * ng);
    default: return nr === 0 ? Math.sqrt(d2) * sr : Math.sqrt(d2 / nr);
  }
}

/**
 * Share of an output's scale (its largest finite reference value over all samples) at or below which a
 * sample's reference is negligible: 2^-11, float16's unit roundoff. The direction of such a vector, and
 * its size relative to itself, turn with the smallest absolute change (float16 rounds 1.5e-8 to 0, and
 * a cosine against a zero vector is 0), so cosine and rel-l2 of that sample say nothing. Its error is
 * judged next to the output's scale instead, as one-value outputs are (single-value.ts).
 */
export const NEGLIGIBLE_SHARE = 2 ** -11;

/** The largest magnitude among the finite values (0 for none). */
export function largestFinite(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) {
    const v = Math.abs(values[i] as number);
    if (v > m && v !== Infinity) m = v;
  }
  return m;
}

/**
 * outputDifference of one sample of an output whose scale over the samples is `scale`: for a sample
 * whose reference is negligible at that scale (NEGLIGIBLE_SHARE), cosine and rel-l2 judge its largest
 * error relative to the scale (cosine as the distance that error stands for, singleValueDistance).
 */
export function sampleDifference(metric: DifferenceMetric, ref: ArrayLike<number>, got: ArrayLike<number>, scale: number): number {
  if (metric !== 'max-abs' && scale > 0 && ref.length === got.length && largestFinite(ref) <= NEGLIGIBLE_SHARE * scale) {
    const e = outputDifference('max-abs', ref, got) / scale;
    return metric === 'cosine' ? singleValueDistance(e) : e;
  }
  return outputDifference(metric, ref, got);
}
