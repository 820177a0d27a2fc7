import { argmaxRows, float16ArrayToFloat32 } from '@onnx-forge/core';
import type { TensorLike } from '@onnx-forge/runtime';

// What a valid tolerance is, beside the agreement it is held to (this file is the package's `./accuracy` entry).
export { cosineToleranceProblem } from './cosine-tolerance.js';

/** How one output of a candidate agrees with the reference, worst case over the samples. */
export interface OutputAccuracy {
  output: string;
  samples: number;
  /** Values per sample (of the reference). */
  elements: number;
  /**
   * Smallest cosine similarity over the samples compared (1 = same direction; -Infinity on a broken
   * output; NaN when the reference gave no finite value in any sample, so nothing was compared). A
   * sample whose reference has no finite value is left out, as each NaN/Inf value of the reference is
   * (`refEmptySamples` counts them).
   */
  cosine: number;
  /** Largest |candidate - reference| over every value (Infinity where NaN/Inf appeared; null in JSON). */
  maxAbs: number;
  /** Largest maxAbs / max |reference| per sample: the error relative to the output's own scale. */
  maxRel: number;
  /** Largest ||candidate - reference|| / ||reference|| per sample. */
  relL2: number;
  /**
   * maxAbs / the largest |reference| over every sample: the error relative to the output's scale across
   * samples, what outputs of one value per sample are judged by (graph-ops' singleValueProblem).
   */
  scaleError: number;
  /** Values NaN or infinite in the candidate where the reference's are finite. */
  nonFinite: number;
  /** Values NaN or infinite in the reference itself (not compared); absent when none. */
  refNonFinite?: number;
  /** Samples in which the reference has no finite value (nothing compared there); absent when none. */
  refEmptySamples?: number;
  /** Set when the candidate lacks the output or gives it another shape or type (then cosine is -Infinity). */
  problem?: string;
  /**
   * For classifier-shaped outputs (float [classes] or [rows, classes], 2 or more classes): the share of
   * rows whose arg-max class is the reference's.
   */
  top1?: number;
}

/** Numbers of a tensor (float16 decoded, int64 as numbers), or undefined for strings. */
export function tensorNumbers(t: TensorLike): ArrayLike<number> | undefined {
  if (t.type === 'string') return undefined;
  if (t.type === 'float16') return float16ArrayToFloat32(t.data as Uint16Array);
  if (t.type === 'int64' || t.type === 'uint64') return Array.from(t.data as BigInt64Array, Number);
  return t.data as ArrayLike<number>;
}

/** What kind of values a tensor type holds: floats of any width alike, integers of any width alike. */
function typeKind(type: string): 'float' | 'integer' | 'bool' | 'string' {
  if (type === 'string' || type === 'bool') return type;
  return type.startsWith('float') || type === 'bfloat16' ? 'float' : 'integer';
}

function isClassifierShaped(t: TensorLike): boolean {
  const floats = t.type === 'float32' || t.type === 'float16' || t.type === 'float64';
  const classes = t.dims[t.dims.length - 1] ?? 0;
  return floats && (t.dims.length === 1 || t.dims.length === 2) && classes >= 2;
}

/** Accumulates the agreement of one output over samples. */
export class OutputAgreement {
  private result: OutputAccuracy;
  private top1Hits = 0;
  private top1Rows = 0;
  /** Largest |reference| over the samples so far. */
  private refMax = 0;
  /** Samples in which at least one value was compared (or the candidate broke). */
  private compared = 0;

  constructor(output: string) {
    this.result = { output, samples: 0, elements: 0, cosine: 1, maxAbs: 0, maxRel: 0, relL2: 0, scaleError: 0, nonFinite: 0 };
  }

  /** Adds one sample's reference and candidate values of this output (`got` undefined when missing). */
  add(ref: TensorLike, got: TensorLike | undefined): void {
    const r = this.result;
    r.samples++;
    r.elements = ref.dims.reduce((a, d) => a * d, 1);
    const fail = (problem: string) => {
      this.compared++;
      r.problem ??= problem;
      r.cosine = -Infinity;
      r.maxAbs = r.maxRel = r.relL2 = r.scaleError = Infinity;
    };
    if (!got) return fail('the candidate does not produce this output');
    if (got.dims.length !== ref.dims.length || got.dims.some((d, i) => d !== ref.dims[i])) return fail(`shape [${got.dims.join(', ')}] where the reference has [${ref.dims.join(', ')}]`);
    // Floats of another width compare by value (an FP16 variant without keepIoTypes returns float16);
    // a float where the reference has integers, a bool or a string (or the reverse) is another output.
    if (typeKind(got.type) !== typeKind(ref.type)) return fail(`type ${got.type} where the reference has ${ref.type}`);
    const a = tensorNumbers(ref);
    const b = tensorNumbers(got);
    if (!a || !b) {
      const same = (ref.data as readonly string[]).every((s, i) => s === (got.data as readonly string[])[i]);
      if (!same) fail('string values differ');
      else this.compared++;
      return;
    }
    const nonFiniteBefore = r.nonFinite;
    let maxAbs = 0, refMax = 0, gotMax = 0, refBroken = 0;
    for (let i = 0; i < a.length; i++) {
      const x = a[i] as number;
      const y = b[i] as number;
      if (Number.isFinite(x) && !Number.isFinite(y)) {
        r.nonFinite++;
        continue;
      }
      if (!Number.isFinite(x)) {
        refBroken++;
        continue;
      }
      const d = Math.abs(y - x);
      if (d > maxAbs) maxAbs = d;
      if (Math.abs(x) > refMax) refMax = Math.abs(x);
      if (Math.abs(y) > gotMax) gotMax = Math.abs(y);
    }
    // Sums of squares over values scaled by their largest: float64 outputs past 1e154 would square to
    // Infinity (a cosine of NaN for two equal outputs) and below 1e-162 to 0 (a cosine of 1 for two
    // orthogonal ones). Cosine and rel-L2 are ratios, so the scale leaves them as they are.
    const sa = refMax > 0 ? refMax : 1;
    const sb = gotMax > 0 ? gotMax : 1;
    let dot = 0, na = 0, nb = 0, d2 = 0;
    if (r.nonFinite === nonFiniteBefore) {
      for (let i = 0; i < a.length; i++) {
        const x = a[i] as number;
        if (!Number.isFinite(x)) continue;
        const y = b[i] as number;
        const xs = x / sa;
        const ys = y / sb;
        const ds = (y - x) / sa;
        dot += xs * ys;
        na += xs * xs;
        nb += ys * ys;
        d2 += ds * ds;
      }
    } else {
      // NaN/Inf where the reference is finite: the error there is unbounded, not the 0 the finite values leave.
      maxAbs = Infinity;
      d2 = Infinity;
    }
    if (refBroken > 0) r.refNonFinite = (r.refNonFinite ?? 0) + refBroken;
    // A sample whose reference has no finite value (log of a negative input) compares nothing: it is
    // left out as each NaN/Inf value is, and only an output where no sample compared anything has no
    // cosine (NaN, see `value`). Letting it poison the output made a candidate equal to the reference
    // everywhere else "cosine NaN", below every tolerance.
    if (refBroken > 0 && refBroken === a.length) {
      r.refEmptySamples = (r.refEmptySamples ?? 0) + 1;
      return;
    }
    this.compared++;
    // Two all-zero outputs agree (1); zero against non-zero shares no direction (0).
    const cosine = r.nonFinite > 0 ? -Infinity : na === 0 && nb === 0 ? 1 : na === 0 || nb === 0 ? 0 : Math.max(-1, Math.min(1, dot / Math.sqrt(na * nb)));
    r.cosine = Math.min(r.cosine, cosine);
    r.maxAbs = Math.max(r.maxAbs, maxAbs);
    r.maxRel = Math.max(r.maxRel, refMax > 0 ? maxAbs / refMax : maxAbs > 0 ? Infinity : 0);
    r.relL2 = Math.max(r.relL2, na > 0 ? Math.sqrt(d2 / na) : d2 > 0 ? Infinity : 0);
    this.refMax = Math.max(this.refMax, refMax);
    r.scaleError = this.refMax > 0 ? r.maxAbs / this.refMax : r.maxAbs > 0 ? Infinity : 0;
    if (isClassifierShaped(ref)) {
      const classes = ref.dims[ref.dims.length - 1] as number;
      const ra = argmaxRows(a, classes);
      const rb = argmaxRows(b, classes);
      this.top1Rows += ra.length;
      this.top1Hits += ra.filter((c, i) => c === rb[i]).length;
    }
  }

  get value(): OutputAccuracy {
    // Nothing compared in any sample: no cosine of 1 (or 0), and NaN meets no tolerance.
    const r = this.compared === 0 && this.result.refEmptySamples ? { ...this.result, cosine: NaN } : { ...this.result };
    return this.top1Rows > 0 ? { ...r, top1: this.top1Hits / this.top1Rows } : r;
  }
}
