import { ForgeError, ForgeErrorCode } from '@onnx-forge/core';
import type { TreeEnsemble } from './tree-ensemble.js';

/**
 * Scores a tree ensemble in plain JavaScript, in double precision, with the source library's rules
 * (LightGBM's missing values and zero snapping, XGBoost's strict splits, mljs's vote tie-break): the
 * reference the converted ONNX models are tested against, and a fallback where no ONNX runtime is.
 */
export interface TreePredictions {
  readonly rows: number;
  /** Raw scores [rows, numTargets]: margins of boosted models, vote counts or sums/means of forests. */
  readonly raw: Float64Array;
  readonly numTargets: number;
  /** What the model predicts: class probabilities [rows, classes], or values [rows, 1]. */
  readonly output: Float64Array;
  readonly width: number;
  /** The predicted class of each row (classifiers only). */
  readonly labels: Int32Array | undefined;
}

/** A row-major matrix [rows, numFeatures], or an array of rows. */
export type TreeInput = Float32Array | Float64Array | readonly (ArrayLike<number>)[];

const FLAG_LT = 1;
const FLAG_MISSING_LEFT = 2;
const FLAG_ZERO_MISSING = 4;

/** Flat arrays over all trees, so scoring walks typed arrays instead of objects. */
interface Compiled {
  roots: Int32Array;
  /** Feature of a split, -1 for a leaf. */
  feature: Int32Array;
  threshold: Float64Array;
  flags: Uint8Array;
  left: Int32Array;
  right: Int32Array;
  /** Leaf weights of node i: weightTarget/weightValue[leafStart[i] .. leafStart[i + 1]). */
  leafStart: Int32Array;
  weightTarget: Int32Array;
  weightValue: Float64Array;
}

const CACHE = new WeakMap<TreeEnsemble, Compiled>();

function compile(ensemble: TreeEnsemble): Compiled {
  const cached = CACHE.get(ensemble);
  if (cached) return cached;
  let nodes = 0;
  let weights = 0;
  for (const t of ensemble.trees) {
    nodes += t.nodes.length;
    for (const n of t.nodes) if (n.kind === 'leaf') weights += n.weights.length;
  }
  const c: Compiled = {
    roots: new Int32Array(ensemble.trees.length),
    feature: new Int32Array(nodes),
    threshold: new Float64Array(nodes),
    flags: new Uint8Array(nodes),
    left: new Int32Array(nodes),
    right: new Int32Array(nodes),
    leafStart: new Int32Array(nodes + 1),
    weightTarget: new Int32Array(weights),
    weightValue: new Float64Array(weights),
  };
  let base = 0;
  let w = 0;
  ensemble.trees.forEach((tree, t) => {
    c.roots[t] = base;
    tree.nodes.forEach((n, i) => {
      const k = base + i;
      c.leafStart[k] = w;
      if (n.kind === 'leaf') {
        c.feature[k] = -1;
        for (const lw of n.weights) {
          c.weightTarget[w] = lw.target;
          c.weightValue[w] = lw.value;
          w++;
        }
      } else {
        c.feature[k] = n.feature;
        c.threshold[k] = n.threshold;
        c.flags[k] = (n.op === 'lt' ? FLAG_LT : 0) | (n.missingLeft ? FLAG_MISSING_LEFT : 0) | (n.zeroIsMissing ? FLAG_ZERO_MISSING : 0);
        c.left[k] = base + n.left;
        c.right[k] = base + n.right;
      }
    });
    base += tree.nodes.length;
  });
  c.leafStart[nodes] = w;
  CACHE.set(ensemble, c);
  return c;
}

/** The leaf (global node index) a row reaches in one tree. */
function leafOf(c: Compiled, root: number, row: ArrayLike<number>, offset: number, snap: number, float32: boolean, missing: number): number {
  let i = root;
  for (;;) {
    const f = c.feature[i] as number;
    if (f < 0) return i;
    let x = row[offset + f] as number;
    if (float32) x = Math.fround(x);
    if (snap > 0 && Math.abs(x) <= snap) x = 0;
    if (x === missing) x = Number.NaN;
    const flags = c.flags[i] as number;
    let goLeft: boolean;
    if (Number.isNaN(x) || ((flags & FLAG_ZERO_MISSING) !== 0 && x === 0)) goLeft = (flags & FLAG_MISSING_LEFT) !== 0;
    else goLeft = (flags & FLAG_LT) !== 0 ? x < (c.threshold[i] as number) : x <= (c.threshold[i] as number);
    i = (goLeft ? c.left[i] : c.right[i]) as number;
  }
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** Checks the input's shape; returns the row count. */
function rowCount(ensemble: TreeEnsemble, input: TreeInput): number {
  const f = ensemble.numFeatures;
  if (input instanceof Float32Array || input instanceof Float64Array) {
    if (input.length % f !== 0) {
      throw new ForgeError(ForgeErrorCode.BAD_INPUT, `the input holds ${input.length} values, not a whole number of rows of ${f} features`, { details: { length: input.length, features: f } });
    }
    return input.length / f;
  }
  input.forEach((row, r) => {
    if (row.length < f) throw new ForgeError(ForgeErrorCode.BAD_INPUT, `row ${r} has ${row.length} values; the model reads ${f} features`, { details: { row: r, features: f } });
  });
  return input.length;
}

/**
 * Scores rows with the ensemble. `rawScore` makes `output` the raw scores (as a `rawScore` conversion
 * outputs them); labels are the same either way.
 */
export function predictTrees(ensemble: TreeEnsemble, input: TreeInput, options: { rawScore?: boolean } = {}): TreePredictions {
  const c = compile(ensemble);
  const rows = rowCount(ensemble, input);
  const flat = input instanceof Float32Array || input instanceof Float64Array;
  const k = ensemble.numTargets;
  const raw = new Float64Array(rows * k);
  const spec = ensemble.output;
  const classes = spec.kind === 'classification' ? spec.numClasses : 1;
  const output = new Float64Array(rows * classes);
  const labels = spec.kind === 'classification' ? new Int32Array(rows) : undefined;
  const scores = new Float64Array(k);
  const nTrees = ensemble.trees.length;
  // XGBoost's DMatrix holds float32 values: a double input is rounded before it meets a (float32)
  // condition. LightGBM and mljs compare doubles.
  const float32 = ensemble.format === 'xgboost' && !(input instanceof Float32Array);
  // NaN equals nothing: without a missing value, no input is turned into NaN.
  const missing = ensemble.missingValue ?? Number.NaN;
  for (let r = 0; r < rows; r++) {
    const row = flat ? input : (input[r] as ArrayLike<number>);
    const offset = flat ? r * ensemble.numFeatures : 0;
    scores.fill(0);
    let winner = 0;
    let maxCount = 0;
    for (let t = 0; t < nTrees; t++) {
      const leaf = leafOf(c, c.roots[t] as number, row, offset, ensemble.snapToZero, float32, missing);
      const end = c.leafStart[leaf + 1] as number;
      for (let w = c.leafStart[leaf] as number; w < end; w++) {
        const target = c.weightTarget[w] as number;
        const v = (scores[target] as number) + (c.weightValue[w] as number);
        scores[target] = v;
        // ml-array-mode: the running maximum moves only on a strictly larger count.
        if (ensemble.combine.kind === 'vote' && v > maxCount) {
          maxCount = v;
          winner = target;
        }
      }
    }
    const divisor = ensemble.combine.kind === 'mean' ? ensemble.combine.count : 1;
    for (let j = 0; j < k; j++) raw[r * k + j] = (ensemble.base[j] as number) + (scores[j] as number) / divisor;
    const s = raw.subarray(r * k, r * k + k);
    const o = output.subarray(r * classes, r * classes + classes);
    if (spec.kind === 'regression') {
      const x = s[0] as number;
      o[0] = spec.transform === 'exp' ? Math.exp(x) : spec.transform === 'sigmoid' ? sigmoid(x) : spec.transform === 'signed-square' ? Math.sign(x) * x * x : x;
    } else {
      switch (spec.transform) {
        case 'binary-sigmoid': {
          const p = sigmoid(spec.sigmoidScale * (s[0] as number));
          o[0] = 1 - p;
          o[1] = p;
          break;
        }
        case 'softmax': {
          let max = -Infinity;
          for (const v of s) max = Math.max(max, v);
          let sum = 0;
          for (let j = 0; j < k; j++) sum += o[j] = Math.exp((s[j] as number) - max);
          for (let j = 0; j < k; j++) o[j] = (o[j] as number) / sum;
          break;
        }
        case 'sigmoid-per-class':
          for (let j = 0; j < k; j++) o[j] = sigmoid(spec.sigmoidScale * (s[j] as number));
          break;
        case 'none':
          if (ensemble.combine.kind === 'vote') for (let j = 0; j < k; j++) o[j] = (s[j] as number) / nTrees;
          else o.set(s);
          break;
      }
      let best = 0;
      for (let j = 1; j < classes; j++) if ((o[j] as number) > (o[best] as number)) best = j;
      (labels as Int32Array)[r] = ensemble.combine.kind === 'vote' ? winner : (ensemble.classLabels?.[best] ?? best);
    }
    if (options.rawScore && spec.kind === 'regression') o[0] = s[0] as number;
  }
  if (options.rawScore && spec.kind === 'classification') return { rows, raw, numTargets: k, output: raw, width: k, labels };
  return { rows, raw, numTargets: k, output, width: classes, labels };
}
