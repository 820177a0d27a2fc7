import { cosineSimilarity } from '@onnx-forge/core';
import { fromFloat16, isFloat16Array, type TensorLike } from '@onnx-forge/runtime';
import { isFloat16Data } from './session-feeds.js';

/** How far a backend's outputs may drift from the reference's before it counts as wrong. */
export interface AccuracyTolerance {
  /**
   * Smallest cosine similarity allowed on each float output (default 0.99). An output the reference
   * answers with (near) zeros has no direction to compare: it is judged by absolute error instead
   * (see `compareOutputs`).
   */
  readonly minCosine: number;
  /**
   * Largest absolute difference allowed on any float element (default Infinity: off, as scales differ by
   * model). Set it for outputs of one value per request (a score, a probability): cosine is 1 between any
   * two values of one sign, so minCosine alone never sees their drift.
   */
  readonly maxAbsError: number;
  /**
   * Classifier-shaped outputs ([classes] or [batch, classes] floats) must pick the same class per row,
   * and integer, bool and string outputs (labels) must be equal (default true).
   */
  readonly argmax: boolean;
  /**
   * A different class counts only when the reference prefers its own class by more than this share of
   * the row's range (default 0.01): on a near tie a correct INT8 model may legitimately pick the other.
   */
  readonly argmaxMargin: number;
  /**
   * The float outputs that hold class scores (logits, probabilities), by name: only they get the argmax
   * check. Default undefined: every classifier-shaped output does, which takes in an embedding or a pooled
   * hidden state ([batch, dims]) too; name the classifiers when the model has such outputs.
   */
  readonly classifiers?: readonly string[] | undefined;
}

export const DEFAULT_TOLERANCE: AccuracyTolerance = { minCosine: 0.99, maxAbsError: Number.POSITIVE_INFINITY, argmax: true, argmaxMargin: 0.01, classifiers: undefined };

/**
 * A reference value at most this share of the response's largest one is rounding residue of a zero
 * (float32 resolves about 6e-8 of a value; this leaves 16 of its steps).
 */
const NEAR_ZERO_SHARE = 1e-6;

/** One output compared with the reference's. */
export interface OutputComparison {
  readonly output: string;
  /**
   * Cosine similarity over the elements finite in both (float outputs); undefined when the reference is
   * (near) zero there and the output is judged by `absoluteLimit` instead.
   */
  readonly cosine?: number;
  /**
   * Set when the reference answered this output with (near) zeros, where cosine is meaningless (0 against
   * any candidate not exactly zero too): the largest abs error allowed instead. Infinity when nothing
   * gives a scale (the reference's whole answer is zero and maxAbsError is off).
   */
  readonly absoluteLimit?: number;
  readonly maxAbsError?: number;
  /** Elements that are NaN or infinite on one side only (an fp16 overflow shows here). */
  readonly nonFinite?: number;
  /** Rows compared by argmax (classifier-shaped floats) or elements compared exactly (labels). */
  readonly argmaxRows?: number;
  readonly argmaxDisagreements?: number;
  /** Why the output could not be compared at all (missing, other shape or type). */
  readonly mismatch?: string;
}

/** The result of comparing one response with the reference's. */
export interface CanaryCheck {
  readonly passed: boolean;
  /** What broke the tolerance, one line each (empty when passed). */
  readonly failures: readonly string[];
  /** Smallest cosine over the float outputs (1 when there are none). */
  readonly cosine: number;
  readonly maxAbsError: number;
  readonly argmaxRows: number;
  readonly argmaxDisagreements: number;
  readonly outputs: readonly OutputComparison[];
}

const FLOAT_TYPES = new Set(['float32', 'float64', 'float16']);

function floats(t: TensorLike): Float32Array | Float64Array | undefined {
  // float16 comes as its bits (Uint16Array), or as values in a Float16Array where the platform has one
  // (onnxruntime-web in Chromium returns those).
  if (t.type === 'float16') return isFloat16Data(t.data) ? fromFloat16(t.data) : undefined;
  if (t.data instanceof Float32Array || t.data instanceof Float64Array) return t.data;
  return undefined;
}

function sameDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * The relative error minCosine allows on a signal: an error of this share of the signal's size, at right
 * angles to it, brings cosine down to minCosine (0.141 at 0.99).
 */
function allowedShare(tol: AccuracyTolerance): number {
  return Math.sqrt(2 * (1 - tol.minCosine));
}

/** The largest finite |value| of a float array (0 when it has none). */
function largestAbs(v: Float32Array | Float64Array): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) {
    const a = Math.abs(v[i] as number);
    if (a > m && a !== Number.POSITIVE_INFINITY) m = a;
  }
  return m;
}

/**
 * `scale` is the largest finite |value| over every float output of the reference's answer: what a
 * (near) zero output's error is measured against.
 */
function compareFloat(name: string, ref: Float32Array | Float64Array, got: Float32Array | Float64Array, dims: readonly number[], tol: AccuracyTolerance, scale: number): OutputComparison {
  let nonFinite = 0;
  let maxAbs = 0;
  let refMax = 0;
  let anyNonFinite = false;
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i] as number;
    const g = got[i] as number;
    if (Number.isFinite(r) && Number.isFinite(g)) {
      const d = Math.abs(r - g);
      if (d > maxAbs) maxAbs = d;
      if (Math.abs(r) > refMax) refMax = Math.abs(r);
    } else {
      anyNonFinite = true;
      if (!Object.is(r, g)) nonFinite++;
    }
  }
  const out: { -readonly [K in keyof OutputComparison]: OutputComparison[K] } = { output: name, maxAbsError: maxAbs, nonFinite };
  const absErrorOn = Number.isFinite(tol.maxAbsError);
  if (refMax <= NEAR_ZERO_SHARE * scale || (absErrorOn && refMax <= tol.maxAbsError)) {
    // The reference is (near) zero here (a ReLU, a mask, an underflowed probability): it has no
    // direction, and cosine would be 0 against any candidate not exactly zero as well. The error is
    // judged by its size instead: against maxAbsError when set, else against the share of the answer's
    // scale that minCosine allows as error on a signal of that scale.
    out.absoluteLimit = absErrorOn ? tol.maxAbsError : scale > 0 ? allowedShare(tol) * scale : Number.POSITIVE_INFINITY;
  } else if (!anyNonFinite) {
    out.cosine = cosineSimilarity(ref, got);
  } else {
    // The direction is judged over the elements finite on both sides; the others are counted apart.
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < ref.length; i++) {
      const r = ref[i] as number;
      const g = got[i] as number;
      if (Number.isFinite(r) && Number.isFinite(g)) {
        a.push(r);
        b.push(g);
      }
    }
    out.cosine = cosineSimilarity(a, b);
  }
  // Classifier-shaped: [classes] or [batch, classes] with at least two classes (among those named, when
  // classifiers are). A (near) zero output prefers no class.
  const classes = dims[dims.length - 1] ?? 0;
  const classifier = tol.classifiers === undefined || tol.classifiers.includes(name);
  if (tol.argmax && classifier && out.absoluteLimit === undefined && (dims.length === 1 || dims.length === 2) && classes >= 2) {
    const rows = ref.length / classes;
    let disagree = 0;
    for (let row = 0; row < rows; row++) {
      const base = row * classes;
      let ra = 0;
      let ga = 0;
      let lo = Number.POSITIVE_INFINITY;
      let hi = Number.NEGATIVE_INFINITY;
      for (let c = 0; c < classes; c++) {
        const r = ref[base + c] as number;
        if (r > (ref[base + ra] as number)) ra = c;
        if ((got[base + c] as number) > (got[base + ga] as number)) ga = c;
        if (r < lo) lo = r;
        if (r > hi) hi = r;
      }
      if (ra === ga) continue;
      const margin = (ref[base + ra] as number) - (ref[base + ga] as number);
      if (!(margin > tol.argmaxMargin * (hi - lo))) continue;
      // A near tie at the candidate's precision is no disagreement either: a flip counts only when the
      // reference's margin exceeds the candidate's largest error on the rest of the row (the elements
      // other than the two contenders). Noise spread over the row, as INT8 and fp16 leave on an
      // embedding, swaps close values and is judged by cosine; an error that lifts one class above the
      // noise is a wrong answer.
      let noise = 0;
      for (let c = 0; c < classes; c++) {
        if (c === ra || c === ga) continue;
        const d = Math.abs((got[base + c] as number) - (ref[base + c] as number));
        if (d > noise) noise = d;
      }
      if (margin > noise) disagree++;
    }
    out.argmaxRows = rows;
    out.argmaxDisagreements = disagree;
  }
  return out;
}

function compareExact(name: string, ref: TensorLike, got: TensorLike): OutputComparison {
  let diff = 0;
  for (let i = 0; i < ref.data.length; i++) if (ref.data[i] !== got.data[i]) diff++;
  return { output: name, argmaxRows: ref.data.length, argmaxDisagreements: diff };
}

/**
 * Compares a backend's outputs with the reference's, output by output (outputs only the backend has
 * are ignored). float16 is compared as float32 values, int64 exactly; NaN or infinity where the
 * reference has a finite value always fails (the fp16 overflows of transformers.js #1512, ORT #26367).
 *
 * A float output the reference answers with (near) zeros (a ReLU, a mask) has no direction, so cosine
 * does not judge it: its max abs error must stay within maxAbsError when that is set, else within
 * √(2(1 − minCosine)) (0.141 at 0.99) of the largest value in the reference's whole answer, the error
 * minCosine allows on a signal of that size; it gets no argmax check either. Near zero means every
 * value within maxAbsError of zero (when set), or at most 1e-6 of that largest value (all zeros
 * included). When the reference's whole answer is zero there is no scale: only NaN and infinity fail
 * it (and maxAbsError, when set).
 *
 * A classifier-shaped output picking another class fails unless the reference nearly ties there
 * (argmaxMargin of the row's range) or the reference's margin is within the candidate's largest error on
 * the rest of the row (a swap of close values by noise spread over the row, as on an embedding, is
 * cosine's to judge). `classifiers` limits the argmax check to the outputs named.
 */
export function compareOutputs(reference: Readonly<Record<string, TensorLike>>, candidate: Readonly<Record<string, TensorLike>>, tolerance: AccuracyTolerance = DEFAULT_TOLERANCE): CanaryCheck {
  const outputs: OutputComparison[] = [];
  const failures: string[] = [];
  // The reference's float outputs, decoded once (float16 is decoded to a new array): for the answer's
  // scale here and for each output's comparison below.
  const refFloats = new Map<string, Float32Array | Float64Array>();
  let scale = 0;
  for (const [name, ref] of Object.entries(reference)) {
    const r = FLOAT_TYPES.has(ref.type) ? floats(ref) : undefined;
    if (!r) continue;
    refFloats.set(name, r);
    scale = Math.max(scale, largestAbs(r));
  }
  for (const [name, ref] of Object.entries(reference)) {
    const got = candidate[name];
    if (!got) {
      outputs.push({ output: name, mismatch: 'missing' });
      failures.push(`output '${name}' is missing`);
      continue;
    }
    if (!sameDims(ref.dims, got.dims) || ref.data.length !== got.data.length) {
      outputs.push({ output: name, mismatch: `dims [${got.dims.join(', ')}], reference [${ref.dims.join(', ')}]` });
      failures.push(`output '${name}' has dims [${got.dims.join(', ')}] where the reference has [${ref.dims.join(', ')}]`);
      continue;
    }
    if (FLOAT_TYPES.has(ref.type)) {
      const r = refFloats.get(name);
      const g = FLOAT_TYPES.has(got.type) ? floats(got) : undefined;
      if (!r || !g) {
        outputs.push({ output: name, mismatch: `type ${got.type}, reference ${ref.type}` });
        failures.push(`output '${name}' is ${got.type} where the reference is ${ref.type}`);
        continue;
      }
      const c = compareFloat(name, r, g, ref.dims, tolerance, scale);
      outputs.push(c);
      if ((c.nonFinite ?? 0) > 0) failures.push(`output '${name}': ${c.nonFinite} NaN or infinite values where the reference has finite ones (or the reverse)`);
      if (!((c.cosine ?? 1) >= tolerance.minCosine)) failures.push(`output '${name}': cosine ${fmt(c.cosine)} < ${tolerance.minCosine}`);
      if (c.absoluteLimit !== undefined && !Number.isFinite(tolerance.maxAbsError) && (c.maxAbsError ?? 0) > c.absoluteLimit) {
        failures.push(`output '${name}': the reference is (near) zero, so judged by absolute error: max abs error ${fmt(c.maxAbsError)} > ${fmt(c.absoluteLimit)} (${fmt(allowedShare(tolerance))} of the answer's largest reference value ${fmt(scale)}; set maxAbsError to choose the bound)`);
      }
      if ((c.maxAbsError ?? 0) > tolerance.maxAbsError) failures.push(`output '${name}': max abs error ${fmt(c.maxAbsError)} > ${tolerance.maxAbsError}`);
      if ((c.argmaxDisagreements ?? 0) > 0) failures.push(`output '${name}': a different class in ${c.argmaxDisagreements} of ${c.argmaxRows} rows`);
      continue;
    }
    if (got.type !== ref.type) {
      outputs.push({ output: name, mismatch: `type ${got.type}, reference ${ref.type}` });
      failures.push(`output '${name}' is ${got.type} where the reference is ${ref.type}`);
      continue;
    }
    const c = compareExact(name, ref, got);
    outputs.push(c);
    if (tolerance.argmax && (c.argmaxDisagreements ?? 0) > 0) failures.push(`output '${name}': ${c.argmaxDisagreements} of ${c.argmaxRows} values differ from the reference's`);
  }
  let cosine = 1;
  let maxAbsError = 0;
  let argmaxRows = 0;
  let argmaxDisagreements = 0;
  for (const o of outputs) {
    if (o.cosine !== undefined) cosine = Math.min(cosine, Number.isNaN(o.cosine) ? -1 : o.cosine);
    if (o.mismatch !== undefined) cosine = -1;
    if (o.maxAbsError !== undefined) maxAbsError = Math.max(maxAbsError, o.maxAbsError);
    argmaxRows += o.argmaxRows ?? 0;
    argmaxDisagreements += o.argmaxDisagreements ?? 0;
  }
  // Frozen: a check travels into quarantine evidence, events and stats() snapshots, where a caller
  // changing it must not rewrite the model's record.
  for (const o of outputs) Object.freeze(o);
  return Object.freeze({ passed: failures.length === 0, failures: Object.freeze(failures), cosine, maxAbsError, argmaxRows, argmaxDisagreements, outputs: Object.freeze(outputs) });
}

/**
 * Whether any float output holds NaN or ±Infinity (float16 read from its bits). Cheap next to the run
 * that produced the outputs: the HybridModel checks every answer it is about to serve unchecked.
 */
export function hasNonFinite(outputs: Readonly<Record<string, TensorLike>>): boolean {
  for (const t of Object.values(outputs)) {
    if (!FLOAT_TYPES.has(t.type)) continue;
    const d = t.data;
    if (t.type === 'float16') {
      if (d instanceof Uint16Array) for (let i = 0; i < d.length; i++) if (((d[i] as number) & 0x7c00) === 0x7c00) return true;
      if (isFloat16Array(d)) for (const v of d as ArrayLike<number> & Iterable<number>) if (!Number.isFinite(v)) return true;
      continue;
    }
    if (d instanceof Float32Array || d instanceof Float64Array) for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i] as number)) return true;
  }
  return false;
}

function fmt(v: number | undefined): string {
  return v === undefined ? '?' : Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(6) : v.toExponential(3);
}
