import { ForgeError, ForgeErrorCode } from '@onnx-forge/core';
import { invalidModel, unsupportedModel } from './convert-errors.js';
import type { LeafWeight, Tree, TreeEnsemble, TreeNode } from './tree-ensemble.js';
import { jsonFailure } from './json-text.js';
import { stripBom } from './strip-bom.js';
import { validateTree } from './validate-tree.js';

/*
 * mljs models from their toJSON() (ml-cart 2.1, ml-random-forest 2.1), or the live model objects:
 * - a CART node splits with `row[splitColumn] < splitValue` → left, otherwise (NaN too) right; a node
 *   is a leaf when it has a `distribution` (a 1×k matrix of class frequencies for a classifier, the mean
 *   of the training values for a regression tree);
 * - DecisionTreeClassifier predicts the first column with the largest frequency;
 * - a forest's estimator i sees the columns `indexes[i]` (feature bagging, with repetitions when
 *   sampled with replacement), so its splitColumn c is the input feature indexes[i][c];
 * - RandomForestClassifier predicts ml-array-mode of the estimators' classes: scanning them in order,
 *   the class whose count first exceeds the running maximum wins, so a tie goes to the class that
 *   reached the tied count first;
 * - RandomForestRegression predicts the mean (or the median) of the estimators' values.
 */

type Json = Record<string, unknown>;

export const MLJS_MODEL_NAMES = ['RFClassifier', 'RFRegression', 'DTClassifier', 'DTRegression'] as const;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A 1×k distribution as toJSON writes it ([[p0, p1...]]), or a live ml-matrix. */
function distributionRow(d: unknown, where: string): number[] {
  let rows: unknown = d;
  if (isObject(d) && typeof (d as { to2DArray?: unknown }).to2DArray === 'function') rows = (d as unknown as { to2DArray(): unknown }).to2DArray();
  const row = Array.isArray(rows) && Array.isArray(rows[0]) ? rows[0] : rows;
  if (!Array.isArray(row) || row.length === 0 || row.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
    throw invalidModel('mljs', `${where}: a classifier leaf's distribution is not a row of numbers`, {});
  }
  return row as number[];
}

/** Index of the first largest entry, as ml-matrix's maxRowIndex. */
function firstMaxIndex(row: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if ((row[i] as number) > (row[best] as number)) best = i;
  return best;
}

type LeafKind = 'distribution' | 'vote' | 'value';

interface CartOptions {
  kind: LeafKind;
  /** Widest classifier distribution seen so far (the class count), updated while flattening. */
  classes: { width: number };
  /** Maps an estimator's column to the input feature (forests); identity for a single tree. */
  columns?: readonly number[];
}

/** Flattens one ml-cart tree (nested nodes) into IR nodes in depth-first order, root first. */
function flattenCart(root: unknown, where: string, options: CartOptions): Tree {
  const nodes: TreeNode[] = [];
  const visit = (node: unknown, path: string, depth: number): number => {
    if (!isObject(node)) throw invalidModel('mljs', `${where}: node ${path} is not an object`, {});
    if (depth > 10_000) throw invalidModel('mljs', `${where}: the tree is deeper than 10000 levels`, {});
    const index = nodes.length;
    if (node.distribution !== undefined && node.distribution !== null) {
      let weights: LeafWeight[];
      if (options.kind === 'value') {
        const v = node.distribution;
        if (typeof v !== 'number' || !Number.isFinite(v)) throw invalidModel('mljs', `${where}: regression leaf ${path} holds ${JSON.stringify(v)}, not a number`, {});
        weights = [{ target: 0, value: v }];
      } else {
        const row = distributionRow(node.distribution, `${where}, leaf ${path}`);
        options.classes.width = Math.max(options.classes.width, row.length);
        weights = options.kind === 'vote' ? [{ target: firstMaxIndex(row), value: 1 }] : row.map((value, target) => ({ target, value }));
      }
      nodes.push({ kind: 'leaf', weights });
      return index;
    }
    const column = node.splitColumn;
    const value = node.splitValue;
    if (typeof column !== 'number' || !Number.isInteger(column) || column < 0 || typeof value !== 'number' || !Number.isFinite(value)) {
      throw invalidModel('mljs', `${where}: node ${path} has neither a distribution nor a numeric splitColumn/splitValue`, {});
    }
    const feature = options.columns ? options.columns[column] : column;
    if (feature === undefined) throw invalidModel('mljs', `${where}: node ${path} splits on column ${column}, beyond the estimator's ${options.columns?.length} columns`, {});
    // Placeholder, filled once the children have indices.
    nodes.push({ kind: 'leaf', weights: [] });
    const left = visit(node.left, `${path}L`, depth + 1);
    const right = visit(node.right, `${path}R`, depth + 1);
    nodes[index] = { kind: 'split', feature, threshold: value, op: 'lt', missingLeft: false, zeroIsMissing: false, left, right };
    return index;
  };
  visit(root, 'root', 0);
  return { nodes };
}

function maxFeature(tree: Tree): number {
  let max = -1;
  for (const n of tree.nodes) if (n.kind === 'split' && n.feature > max) max = n.feature;
  return max;
}

/** Normalises a live mljs model (or its toJSON() holding live nodes and matrices) to plain JSON. */
function plain(input: unknown): unknown {
  try {
    return JSON.parse(JSON.stringify(input)) as unknown;
  } catch (e) {
    throw invalidModel('mljs', 'the model cannot be serialised to JSON (is it an mljs model or its toJSON()?)', {}, e);
  }
}

export interface MljsParseOptions {
  /** Width of the input rows; by default one more than the largest feature any tree uses. */
  numFeatures?: number;
}

/**
 * Reads an ml-random-forest RandomForestClassifier/RandomForestRegression or an ml-cart
 * DecisionTreeClassifier/DecisionTreeRegression, from `toJSON()` (as an object or JSON text) or the
 * live model.
 */
export function parseMljs(input: string | object, options: MljsParseOptions = {}): TreeEnsemble {
  let doc: unknown;
  if (typeof input === 'string') {
    try {
      doc = JSON.parse(stripBom(input));
    } catch (e) {
      if (jsonFailure(stripBom(input)) === 'damaged') {
        throw invalidModel('mljs', `the text starts as JSON but does not parse (${(e as Error).message}): it looks truncated or damaged — write it again with JSON.stringify(model)`, {}, e);
      }
      throw invalidModel('mljs', 'the text is not JSON; pass the model, its toJSON() or JSON.stringify(model)', {}, e);
    }
  } else {
    doc = plain(input);
  }
  if (!isObject(doc) || typeof doc.name !== 'string' || !(MLJS_MODEL_NAMES as readonly string[]).includes(doc.name)) {
    throw invalidModel('mljs', `the JSON is not an mljs model (expected "name" to be one of ${MLJS_MODEL_NAMES.join(', ')})`, {
      name: isObject(doc) ? doc.name : undefined,
    });
  }
  const name = doc.name;
  let trees: Tree[];
  let combine: TreeEnsemble['combine'];
  let classifier: boolean;
  // Leaves hold the distribution of the training labels that reached them, up to the largest label
  // among those: the widest one gives the class count.
  const classes = { width: 0 };
  if (name === 'DTClassifier' || name === 'DTRegression') {
    classifier = name === 'DTClassifier';
    trees = [flattenCart(doc.root, name, { kind: classifier ? 'distribution' : 'value', classes })];
    combine = { kind: 'sum' };
  } else {
    classifier = name === 'RFClassifier';
    if (name === 'RFRegression' && doc.selectionMethod !== undefined && doc.selectionMethod !== 'mean') {
      throw unsupportedModel('mljs', 'median forest', `the forest predicts the ${String(doc.selectionMethod)} of its trees, which an ONNX tree ensemble (a sum of leaf values) cannot compute; retrain with selectionMethod: 'mean'`, {
        selectionMethod: doc.selectionMethod,
      });
    }
    const base = doc.baseModel;
    if (!isObject(base) || !Array.isArray(base.estimators) || !Array.isArray(base.indexes) || base.estimators.length !== base.indexes.length || base.estimators.length === 0) {
      throw invalidModel('mljs', `${name}: baseModel.estimators and baseModel.indexes should be arrays of the same, non-zero length`, {});
    }
    const indexes = base.indexes as unknown[];
    trees = (base.estimators as unknown[]).map((est, i) => {
      const columns = indexes[i];
      if (!Array.isArray(columns) || columns.some((c) => typeof c !== 'number' || !Number.isInteger(c) || c < 0)) {
        throw invalidModel('mljs', `${name}: baseModel.indexes[${i}] is not a list of column indices`, { estimator: i });
      }
      if (!isObject(est)) throw invalidModel('mljs', `${name}: estimator ${i} is not an object`, { estimator: i });
      return flattenCart(est.root, `${name} estimator ${i}`, { kind: classifier ? 'vote' : 'value', classes, columns: columns as number[] });
    });
    combine = classifier ? { kind: 'vote' } : { kind: 'mean', count: trees.length };
  }
  // Loops, not Math.max(...values): spreading a forest's column lists (trees × columns, 200 × 1000 is
  // common) into arguments overflows the call stack.
  let inferred = 0;
  for (const t of trees) inferred = Math.max(inferred, maxFeature(t) + 1);
  if (isObject(doc.baseModel) && Array.isArray(doc.baseModel.indexes)) {
    for (const columns of doc.baseModel.indexes as number[][]) for (const c of columns) inferred = Math.max(inferred, c + 1);
  }
  const numFeatures = options.numFeatures ?? inferred;
  // The option is wrong, not the model: an options error, as for any other bad option value.
  if (typeof numFeatures !== 'number' || !Number.isInteger(numFeatures)) {
    throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `numFeatures must be a whole number, got ${String(numFeatures)}`, { details: { option: 'numFeatures', numFeatures } });
  }
  if (numFeatures < inferred) {
    throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `numFeatures ${numFeatures} is smaller than the ${inferred} input columns the mljs model reads`, {
      details: { option: 'numFeatures', numFeatures, required: inferred },
    });
  }
  const numClasses = classifier ? Math.max(2, classes.width) : 0;
  const numTargets = classifier ? numClasses : 1;
  trees.forEach((t, i) => validateTree('mljs', t, i, numFeatures, numTargets));
  return {
    format: 'mljs',
    objective: name,
    numFeatures,
    snapToZero: 0,
    numTargets,
    base: new Array<number>(numTargets).fill(0),
    combine,
    output: classifier ? { kind: 'classification', numClasses, transform: 'none', sigmoidScale: 1 } : { kind: 'regression', transform: 'identity' },
    trees,
  };
}
