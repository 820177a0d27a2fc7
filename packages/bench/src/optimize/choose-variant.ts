import { formatBytes } from '@onnx-forge/core';
import { MIN_RUNS_FOR_MEDIAN_CI, isBelow } from '../stats.js';
import type { VariantName } from './variant-name.js';
import { formatMs, medianIntervalText } from '../report/format-latency.js';

/** What the optimizer may prefer among variants that keep the accuracy tolerance. */
export const PREFERENCES = ['auto', 'speed', 'accuracy', 'size'] as const;
export type Prefer = (typeof PREFERENCES)[number];

/** A variant as the choice sees it: measured (status ok) or not. */
export interface Candidate {
  name: VariantName;
  /** 'ok': loaded, ran and was measured; anything else cannot be chosen. */
  status: string;
  bytes?: number;
  /** `n`: timed runs; below MIN_RUNS_FOR_MEDIAN_CI the interval is no 95 % one and proves nothing. */
  latency?: { p50: number; p50Ci95: [number, number]; n?: number };
  /** Smallest cosine similarity to FP32 over outputs and samples (1 for FP32 itself). */
  minCosine?: number;
  /** Output with the smallest cosine, for the reason of a rejection. */
  worstOutput?: string;
  /** Why the variant fails the tolerance where cosine cannot tell (an output of one value per sample). */
  accuracyProblem?: string;
}

export interface Choice {
  best: VariantName | null;
  reason: string;
  /** Variants measured but refused, and why (accuracy below the tolerance). */
  rejected: { name: VariantName; reason: string }[];
}

/** Sizes within this share of each other count as equal (metadata and rounding differ between files). */
const SIZE_TIE = 0.02;

const ms = (v: number) => `${formatMs(v)} ms`;

type Measured = Required<Pick<Candidate, 'name' | 'bytes' | 'latency' | 'minCosine'>>;

/**
 * Variants no other variant is provably faster than (its median's 95 % interval wholly below theirs).
 * Overlapping the fastest median's interval is not enough: a wide interval there would tie variants
 * that are clearly apart from each other, and let one slower than another win on size.
 */
function speedTier(list: Measured[]): Measured[] {
  return list.filter((c) => !list.some((other) => other !== c && fasterThan(other, c)));
}

/** Whether `a`'s median is provably below `b`'s: its 95 % interval ends before `b`'s starts. */
function fasterThan(a: Measured, b: Measured): boolean {
  const few = (c: Measured) => c.latency.n !== undefined && c.latency.n < MIN_RUNS_FOR_MEDIAN_CI;
  if (few(a) || few(b)) return false;
  return isBelow(a.latency.p50Ci95, b.latency.p50Ci95);
}

function smallest(list: Measured[]): Measured[] {
  const min = Math.min(...list.map((c) => c.bytes));
  return list.filter((c) => c.bytes <= min * (1 + SIZE_TIE));
}

function mostAccurate(list: Measured[]): Measured[] {
  const max = Math.max(...list.map((c) => c.minCosine));
  return list.filter((c) => c.minCosine === max);
}

/**
 * Picks the best variant. First the tolerance, a hard constraint: a variant whose smallest cosine to
 * FP32 falls below it is rejected, whatever its speed (FP32 is the reference and always passes). Then
 * the preference orders the criteria, Olive-style, and a criterion only separates variants when it
 * really does: latency when the 95 % intervals of the medians are apart (a variant stays while no
 * other is provably faster), size beyond 2 %, accuracy when the cosines differ.
 * - speed: latency, then accuracy, then size.
 * - auto: latency, then size, then accuracy (among variants equally fast, the smaller one).
 * - size: size, then latency, then accuracy.
 * - accuracy: accuracy, then latency, then size.
 */
export function chooseVariant(candidates: readonly Candidate[], prefer: Prefer, tolerance: number): Choice {
  const rejected: Choice['rejected'] = [];
  const eligible: Measured[] = [];
  for (const c of candidates) {
    if (c.status !== 'ok' || !c.latency || c.bytes === undefined || c.minCosine === undefined) continue;
    if (c.name !== 'fp32' && Number.isNaN(c.minCosine)) {
      // Not "below" the tolerance: nothing was compared (the reference's NaN/Inf), so it cannot be shown to meet it.
      rejected.push({ name: c.name, reason: `accuracy not known${c.worstOutput ? ` on output "${c.worstOutput}"` : ''}: FP32, the reference, gave no finite value there on any sample, so nothing was compared` });
      continue;
    }
    if (c.name !== 'fp32' && !(c.minCosine >= tolerance)) {
      rejected.push({ name: c.name, reason: `cosine ${Number.isFinite(c.minCosine) ? c.minCosine.toFixed(4) : String(c.minCosine)}${c.worstOutput ? ` on output "${c.worstOutput}"` : ''} is below the tolerance ${tolerance}` });
      continue;
    }
    if (c.name !== 'fp32' && c.accuracyProblem) {
      rejected.push({ name: c.name, reason: c.accuracyProblem });
      continue;
    }
    eligible.push({ name: c.name, bytes: c.bytes, latency: c.latency, minCosine: c.name === 'fp32' ? 1 : c.minCosine });
  }
  if (eligible.length === 0) {
    const why = rejected.length ? 'every variant that ran was below the accuracy tolerance and FP32 did not run' : 'no variant loaded and ran';
    return { best: null, reason: `nothing to choose: ${why}`, rejected };
  }
  const steps: Record<Prefer, ((l: Measured[]) => Measured[])[]> = {
    speed: [speedTier, mostAccurate, smallest],
    auto: [speedTier, smallest, mostAccurate],
    size: [smallest, speedTier, mostAccurate],
    accuracy: [mostAccurate, speedTier, smallest],
  };
  let pool = eligible;
  const narrowed: string[] = [];
  for (const step of steps[prefer]) {
    if (pool.length === 1) break;
    const next = step(pool);
    if (next.length < pool.length) narrowed.push(describe(step, next, pool));
    // Worth saying: latency was looked at and could not separate them (too few runs is not overlap).
    else if (step === speedTier) narrowed.push(sameSpeed(pool));
    pool = next;
  }
  // Still tied on every criterion: the list's order (fp32, fp16, int8-dynamic, int8-static) decides.
  const best = pool[0] as Measured;
  const tieNote = pool.length > 1 ? `; ${pool.map((c) => c.name).join(', ')} tie on every criterion, ${best.name} is first in order` : '';
  const head = `${best.name} (prefer ${prefer}, tolerance cosine ${tolerance}): p50 ${ms(best.latency.p50)} ${medianIntervalText(best.latency.p50Ci95, best.latency.n)}, ${formatBytes(best.bytes)}, cosine ${best.minCosine.toFixed(4)}`;
  const why = narrowed.length ? narrowed.join('; ') : `the only variant that ran within the tolerance`;
  return { best: best.name, reason: `${head}: ${why}${tieNote}`, rejected };
}

/** Why latency kept every variant of `pool`: intervals that overlap, or runs too few for an interval. */
function sameSpeed(pool: Measured[]): string {
  const names = pool.map((c) => c.name).join(', ');
  const fewest = Math.min(...pool.map((c) => c.latency.n ?? Infinity));
  if (fewest < MIN_RUNS_FOR_MEDIAN_CI) {
    return `${names} are not told apart on speed: ${fewest} timed runs are too few for a 95 % interval of the median (at least ${MIN_RUNS_FOR_MEDIAN_CI} are needed)`;
  }
  return `${names} are equally fast within the noise (intervals overlap)`;
}

function describe(step: (l: Measured[]) => Measured[], kept: Measured[], from: Measured[]): string {
  const names = kept.map((c) => c.name).join(', ');
  const dropped = from.filter((c) => !kept.includes(c)).map((c) => c.name).join(', ');
  if (step === speedTier) {
    if (kept.length === 1) return `${names} is faster than ${dropped} (95 % intervals of the medians apart)`;
    // Each variant dropped is slower than one kept, not necessarily than all of them: say which.
    const slower = from.filter((c) => !kept.includes(c)).map((d) => `${d.name} than ${kept.filter((k) => fasterThan(k, d)).map((k) => k.name).join(' and ')}`);
    return `${names} are equally fast within the noise (intervals overlap); slower, 95 % intervals apart: ${slower.join(', ')}`;
  }
  if (step === smallest) return kept.length === 1 ? `${names} is the smallest (${dropped} larger by more than 2 %)` : `${names} are the smallest`;
  return kept.length === 1 ? `${names} is the most accurate` : `${names} are the most accurate`;
}
