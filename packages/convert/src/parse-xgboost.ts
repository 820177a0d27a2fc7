import { ForgeError, ForgeErrorCode } from '@onnx-forge/core';
import { invalidModel, unsupportedModel } from './convert-errors.js';
import { jsonFailure } from './json-text.js';
import { stripBom } from './strip-bom.js';
import type { OutputSpec, Tree, TreeEnsemble, TreeNode } from './tree-ensemble.js';
import { validateTree } from './validate-tree.js';

/*
 * XGBoost's JSON model (Booster.save_model("model.json"), schema in doc/model.schema of the XGBoost
 * repository): learner.gradient_booster.model.trees[*] hold parallel arrays per node; a node is a leaf
 * when left_children is -1, and then split_conditions holds its (already shrunk) leaf value. A split
 * sends x left when x < split_condition (strictly), and a missing value (NaN) where default_left says.
 * learner_model_param.base_score is kept in output space; prediction adds ProbToMargin(base_score).
 */

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function field(o: Json, key: string, where: string): unknown {
  const v = o[key];
  if (v === undefined) throw invalidModel('xgboost', `${where} has no "${key}"; this is not a complete XGBoost JSON model`, { field: `${where}.${key}` });
  return v;
}

function object(o: Json, key: string, where: string): Json {
  const v = field(o, key, where);
  if (!isObject(v)) throw invalidModel('xgboost', `${where}.${key} is not an object`, { field: `${where}.${key}` });
  return v;
}

function numberArray(o: Json, key: string, where: string, length: number): number[] {
  const v = field(o, key, where);
  if (!Array.isArray(v) || v.length !== length) {
    throw invalidModel('xgboost', `${where}.${key} should be an array of ${length} numbers`, { field: `${where}.${key}`, expected: length });
  }
  return v.map((x, i) => {
    // default_left is written as 0/1 by XGBoost 1.x-3.x and as booleans by some older writers.
    const n = typeof x === 'boolean' ? Number(x) : x;
    if (typeof n !== 'number' || Number.isNaN(n)) throw invalidModel('xgboost', `${where}.${key}[${i}] is not a number`, { field: `${where}.${key}` });
    return n;
  });
}

/** A count written as a string ("3") or a number. */
function count(v: unknown, what: string): number {
  // Number('') is 0: an empty string is no count.
  const n = typeof v === 'string' ? (v.trim() === '' ? Number.NaN : Number(v)) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw invalidModel('xgboost', `${what} is "${String(v)}", not a count`, { field: what });
  return n;
}

/** base_score as XGBoost writes it: "5E-1", or a vector "[5E-1]" / "[1E-1,2E-1,7E-1]" since 3.1. */
export function parseBaseScore(v: unknown): number[] {
  if (typeof v === 'number') return [v];
  if (typeof v !== 'string') throw invalidModel('xgboost', `learner_model_param.base_score is ${JSON.stringify(v)}, not a number`, { field: 'base_score' });
  const text = v.trim();
  const inner = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const values = inner.split(',').map((s) => Number(s.trim()));
  if (values.length === 0 || values.some((x) => !Number.isFinite(x)) || inner.trim() === '') {
    throw invalidModel('xgboost', `learner_model_param.base_score "${text}" is not a number or a list of numbers`, { field: 'base_score' });
  }
  return values;
}

const IDENTITY = new Set(['reg:squarederror', 'reg:linear', 'reg:absoluteerror', 'reg:pseudohubererror']);
const EXP = new Set(['count:poisson', 'reg:gamma', 'reg:tweedie']);
const SUPPORTED = [...IDENTITY, 'reg:logistic', 'binary:logistic', 'multi:softprob', 'multi:softmax', ...EXP];

interface Objective {
  output: OutputSpec;
  numTargets: number;
  /** The objective's ProbToMargin, applied to base_score. */
  toMargin(p: number): number;
}

function logit(p: number): number {
  if (!(p > 0 && p < 1)) throw invalidModel('xgboost', `base_score ${p} must lie strictly between 0 and 1 for a logistic objective`, { field: 'base_score' });
  return -Math.log(1 / p - 1);
}

function logOf(p: number): number {
  if (!(p > 0)) throw invalidModel('xgboost', `base_score ${p} must be positive for a log-link objective`, { field: 'base_score' });
  return Math.log(p);
}

function objectiveOf(name: string, numClass: number): Objective {
  const identity = (p: number): number => p;
  if (IDENTITY.has(name)) return { numTargets: 1, output: { kind: 'regression', transform: 'identity' }, toMargin: identity };
  if (EXP.has(name)) return { numTargets: 1, output: { kind: 'regression', transform: 'exp' }, toMargin: logOf };
  if (name === 'reg:logistic') return { numTargets: 1, output: { kind: 'regression', transform: 'sigmoid' }, toMargin: logit };
  if (name === 'binary:logistic') {
    return { numTargets: 1, output: { kind: 'classification', numClasses: 2, transform: 'binary-sigmoid', sigmoidScale: 1 }, toMargin: logit };
  }
  if (name === 'multi:softprob' || name === 'multi:softmax') {
    if (numClass < 2) throw invalidModel('xgboost', `objective ${name} with num_class ${numClass}`, { objective: name });
    // Softmax keeps ObjFunction's identity ProbToMargin: base_score is added to every class margin as it
    // is (XGBoost before 3.1 writes one value, which softmax ignores; 3.1 and later fit one per class).
    return { numTargets: numClass, output: { kind: 'classification', numClasses: numClass, transform: 'softmax', sigmoidScale: 1 }, toMargin: identity };
  }
  throw unsupportedModel('xgboost', 'objective', `objective "${name}" is not supported (supported: ${SUPPORTED.join(', ')}); convert a model trained with one of those`, {
    objective: name,
  });
}

function parseTree(t: Json, index: number, target: number, weight: number): Tree {
  const where = `trees[${index}]`;
  const param = object(t, 'tree_param', where);
  const leafSize = param.size_leaf_vector === undefined ? 1 : count(param.size_leaf_vector, `${where}.tree_param.size_leaf_vector`);
  if (leafSize > 1) {
    throw unsupportedModel('xgboost', 'vector leaves', `tree ${index} has vector leaves (multi_strategy="multi_output_tree"); train with one output per tree instead`, { tree: index });
  }
  const n = count(field(param, 'num_nodes', `${where}.tree_param`), `${where}.tree_param.num_nodes`);
  const left = numberArray(t, 'left_children', where, n);
  const right = numberArray(t, 'right_children', where, n);
  const feature = numberArray(t, 'split_indices', where, n);
  const condition = numberArray(t, 'split_conditions', where, n);
  const defaultLeft = numberArray(t, 'default_left', where, n);
  const splitType = t.split_type === undefined ? new Array<number>(n).fill(0) : numberArray(t, 'split_type', where, n);
  const deleted = param.num_deleted === undefined ? 0 : count(param.num_deleted, `${where}.tree_param.num_deleted`);
  // Old index → IR index. XGBoost's pruner leaves deleted nodes in the arrays (leaves that no split
  // points to, counted by num_deleted); they are dropped. Any other unreachable node is damage, which
  // validateTree reports.
  const renumber = keptNodes(left, right, deleted);
  const child = (c: number): number => (renumber ? (renumber[c] ?? -1) : c);
  const nodes: TreeNode[] = [];
  for (let i = 0; i < n; i++) {
    if (renumber && renumber[i] === -1) continue;
    const l = left[i] as number;
    if (l === -1) {
      nodes.push({ kind: 'leaf', weights: [{ target, value: (condition[i] as number) * weight }] });
      continue;
    }
    if (splitType[i] !== 0) {
      throw unsupportedModel('xgboost', 'categorical split', `tree ${index}, node ${i} is a categorical split (feature ${feature[i]}): categorical splits are not supported yet; retrain with enable_categorical=False and the feature encoded as numbers`, {
        tree: index,
        node: i,
      });
    }
    nodes.push({
      kind: 'split',
      feature: feature[i] as number,
      // XGBoost compares float32 features with float32 conditions; the JSON prints each condition as the
      // shortest decimal that reads back as that float32.
      threshold: Math.fround(condition[i] as number),
      op: 'lt',
      missingLeft: defaultLeft[i] !== 0,
      zeroIsMissing: false,
      left: child(l),
      right: child(right[i] as number),
    });
  }
  return { nodes };
}

/**
 * With `deleted` > 0: the new index of each node once the deleted ones are dropped (−1 for those), or
 * undefined when the unreachable nodes are not exactly `deleted` leaves (then nothing is dropped and
 * validateTree names the problem).
 */
function keptNodes(left: readonly number[], right: readonly number[], deleted: number): Int32Array | undefined {
  const n = left.length;
  if (deleted === 0) return undefined;
  const reached = new Uint8Array(n);
  const stack = [0];
  while (stack.length) {
    const i = stack.pop() as number;
    if (!Number.isInteger(i) || i < 0 || i >= n || reached[i]) continue;
    reached[i] = 1;
    if (left[i] !== -1) stack.push(left[i] as number, right[i] as number);
  }
  let unreachable = 0;
  for (let i = 0; i < n; i++) {
    if (reached[i]) continue;
    if (left[i] !== -1) return undefined;
    unreachable++;
  }
  if (unreachable !== deleted) return undefined;
  const map = new Int32Array(n);
  let next = 0;
  for (let i = 0; i < n; i++) map[i] = reached[i] ? next++ : -1;
  return map;
}

/**
 * The `missing` that XGBoost 1.x's scikit-learn wrapper recorded: its save_model writes the estimator's
 * parameters as JSON (Python's json.dumps, so NaN and Infinity appear bare) into the learner's
 * `scikit_learn` attribute, and its predict builds DMatrix(X, missing=self.missing). Undefined when not
 * recorded (XGBoost 2.0 and later keep only the estimator type there), or recorded as NaN or None.
 */
function sklearnMissing(attributes: Json): number | undefined {
  const meta = attributes.scikit_learn;
  if (typeof meta !== 'string') return undefined;
  const m = /"missing"\s*:\s*(NaN|-?Infinity|null|-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*[,}]/.exec(meta);
  if (!m) return undefined;
  const text = m[1] as string;
  if (text === 'NaN' || text === 'null') return undefined;
  const value = text === 'Infinity' ? Number.POSITIVE_INFINITY : text === '-Infinity' ? Number.NEGATIVE_INFINITY : Number(text);
  // DMatrix holds the missing value as a float32, as it holds the inputs.
  return Math.fround(value);
}

/**
 * The classes XGBoost 1.x's scikit-learn wrapper recorded (`classes_` in the same attribute): with its
 * label encoder (use_label_encoder, the default in 1.3 to 1.5), predict returns classes_[argmax], not
 * the index. Undefined when not recorded or when they are 0..classes-1 (the index is the class).
 */
function sklearnClasses(attributes: Json, numClasses: number): number[] | undefined {
  const meta = attributes.scikit_learn;
  if (typeof meta !== 'string') return undefined;
  const m = /"classes_"\s*:\s*\[([^\]]*)\]/.exec(meta);
  if (!m) return undefined;
  const items = (m[1] as string).split(',').map((x) => x.trim()).filter((x) => x !== '');
  const values = items.map((x) => (/^-?\d+(?:\.0*)?$/.test(x) ? Number(x) : Number.NaN));
  if (values.length === numClasses && values.every((v, i) => v === i)) return undefined;
  if (values.length !== numClasses || values.some((v) => !Number.isSafeInteger(v))) {
    throw unsupportedModel('xgboost', 'class labels', `the model was saved by XGBoost's scikit-learn wrapper with classes [${items.join(', ')}], which its predict returns in place of the class index; the int64 label output holds only integer classes: drop the attribute (booster.set_attr(scikit_learn=None)) to convert with class indices 0..${numClasses - 1} as labels`, {
      classes: items,
    });
  }
  return values;
}

export interface XgboostOptions {
  /**
   * Keep only the rounds up to the model's best_iteration (trained with early stopping), as XGBoost's
   * scikit-learn `predict` does; without it, every round is kept, as `Booster.predict` does.
   */
  bestIteration?: boolean;
  /**
   * The `missing` value of the DMatrix the model predicts on, which XGBoost does not save: inputs equal
   * to it (as float32) are read as missing. Overrides what XGBoost 1.x's scikit-learn wrapper recorded.
   */
  missing?: number;
}

/**
 * How many of the model's trees make its first `best + 1` rounds: from iteration_indptr (XGBoost
 * 2.0 and later), else rounds of numTargets × num_parallel_tree trees.
 */
function treesThrough(model: Json, best: number, numTargets: number, total: number): number {
  const indptr = model.iteration_indptr;
  if (Array.isArray(indptr) && indptr.length >= 2) {
    const end = indptr[Math.min(best + 1, indptr.length - 1)];
    if (typeof end !== 'number' || !Number.isInteger(end) || end < 0 || end > total) throw invalidModel('xgboost', 'gradient_booster.model.iteration_indptr is not a list of tree offsets', {});
    return end;
  }
  return Math.min(total, (best + 1) * treesPerRound(model, numTargets));
}

function treesPerRound(model: Json, numTargets: number): number {
  const param = isObject(model.gbtree_model_param) ? model.gbtree_model_param : {};
  const parallel = param.num_parallel_tree === undefined ? 1 : Math.max(1, count(param.num_parallel_tree, 'gbtree_model_param.num_parallel_tree'));
  return numTargets * parallel;
}

/** How many boosting rounds the model holds: from iteration_indptr, else from its tree count. */
function roundsOf(model: Json, numTargets: number, total: number): number {
  const indptr = model.iteration_indptr;
  if (Array.isArray(indptr) && indptr.length >= 2) return indptr.length - 1;
  return Math.ceil(total / treesPerRound(model, numTargets));
}

/** Reads an XGBoost JSON model (what `save_model("model.json")` writes), as text or parsed. */
export function parseXgboost(input: string | object, options: XgboostOptions = {}): TreeEnsemble {
  let doc: unknown = input;
  if (typeof input === 'string') {
    try {
      doc = JSON.parse(stripBom(input));
    } catch (e) {
      const why = jsonFailure(stripBom(input));
      if (why === 'damaged') {
        throw invalidModel('xgboost', `the text starts as JSON but does not parse (${(e as Error).message}): the file looks truncated or damaged — save the model again with save_model("model.json")`, {}, e);
      }
      if (why === 'ubjson') {
        throw invalidModel('xgboost', 'the text is UBJSON (binary), as XGBoost writes to .ubj files, read as text, which garbles it: pass the file\'s bytes (a Uint8Array from readFile without an encoding)', {}, e);
      }
      throw invalidModel('xgboost', 'the text is not JSON (a binary model?); save the model with save_model("model.json") or save_model("model.ubj") and convert that', {}, e);
    }
  }
  if (!isObject(doc) || !isObject(doc.learner)) throw invalidModel('xgboost', 'the JSON has no "learner" object; this is not an XGBoost model saved with save_model("model.json")');
  const learner = doc.learner;
  const objectiveJson = object(learner, 'objective', 'learner');
  const objectiveName = field(objectiveJson, 'name', 'learner.objective');
  if (typeof objectiveName !== 'string') throw invalidModel('xgboost', 'learner.objective.name is not a string', { field: 'learner.objective.name' });
  const modelParam = object(learner, 'learner_model_param', 'learner');
  const numFeatures = count(field(modelParam, 'num_feature', 'learner.learner_model_param'), 'learner_model_param.num_feature');
  const numClass = modelParam.num_class === undefined ? 0 : count(modelParam.num_class, 'learner_model_param.num_class');
  if (modelParam.num_target !== undefined && count(modelParam.num_target, 'learner_model_param.num_target') > 1) {
    throw unsupportedModel('xgboost', 'multiple targets', `the model predicts ${String(modelParam.num_target)} targets; only single-target models are supported`, { numTarget: modelParam.num_target });
  }
  const booster = object(learner, 'gradient_booster', 'learner');
  let model: Json;
  let weights: number[] | undefined;
  if (booster.name === 'gbtree' || booster.name === undefined) {
    model = object(booster, 'model', 'learner.gradient_booster');
  } else if (booster.name === 'dart') {
    // DART predicts with every tree scaled by its drop weight.
    model = object(object(booster, 'gbtree', 'learner.gradient_booster'), 'model', 'learner.gradient_booster.gbtree');
    const w = field(booster, 'weight_drop', 'learner.gradient_booster');
    if (!Array.isArray(w) || w.some((x) => typeof x !== 'number')) throw invalidModel('xgboost', 'learner.gradient_booster.weight_drop is not an array of numbers');
    weights = w as number[];
  } else {
    throw unsupportedModel('xgboost', 'booster', `booster "${String(booster.name)}" is not a tree booster; only gbtree and dart models convert to tree ensembles`, { booster: booster.name });
  }
  // Objective first: an unknown objective is the clearer message even when other parts are odd.
  const objective = objectiveOf(objectiveName, numClass);
  const treesField = field(model, 'trees', 'gradient_booster.model');
  const infoField = field(model, 'tree_info', 'gradient_booster.model');
  if (!Array.isArray(treesField) || !Array.isArray(infoField) || infoField.length !== treesField.length) {
    throw invalidModel('xgboost', 'gradient_booster.model.trees and tree_info should be arrays of the same length', {});
  }
  let rawTrees: unknown[] = treesField;
  let treeInfo: unknown[] = infoField;
  // Early stopping records best_iteration among the learner's attributes; the trees after it stay in the file.
  const attributes = isObject(learner.attributes) ? learner.attributes : {};
  const best = attributes.best_iteration === undefined ? undefined : count(attributes.best_iteration, 'learner.attributes.best_iteration');
  const notes: string[] = [];
  if (options.bestIteration && best === undefined) {
    throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, 'bestIteration: the model has no best_iteration (it was trained without early stopping); convert it without bestIteration', {
      details: { option: 'bestIteration' },
    });
  }
  const rounds = best === undefined ? 0 : roundsOf(model, objective.numTargets, rawTrees.length);
  if (best !== undefined && rawTrees.length > 0 && best >= rounds) {
    // Early stopping never records a round it did not keep, and XGBoost's slicing drops the attribute:
    // the file was edited or its trees cut. The rounds "up to best_iteration" are not there to keep.
    const past = `learner.attributes.best_iteration is ${best}, but the model has only ${rounds === 1 ? '1 round' : `${rounds} rounds`} (best_iteration counts from 0)`;
    if (options.bestIteration) {
      throw invalidModel('xgboost', `${past}: the model is inconsistent, so bestIteration cannot keep the rounds up to it; convert it without bestIteration to use every round, as Booster.predict does`, {
        field: 'learner.attributes.best_iteration',
        bestIteration: best,
        rounds,
      });
    }
    notes.push(`${past}; the ONNX model uses every round, as Booster.predict does`);
  } else if (best !== undefined) {
    const kept = treesThrough(model, best, objective.numTargets, rawTrees.length);
    if (kept < rawTrees.length) {
      const span = `best_iteration ${best}: its first ${best === 0 ? 'round' : `${best + 1} rounds`}, ${kept} of ${rawTrees.length} trees`;
      if (options.bestIteration) {
        rawTrees = rawTrees.slice(0, kept);
        treeInfo = treeInfo.slice(0, kept);
        weights = weights?.slice(0, kept);
        notes.push(`kept the rounds up to ${span}, as XGBoost's scikit-learn predict uses`);
      } else {
        notes.push(`trained with early stopping (${span}); the ONNX model uses every tree, as Booster.predict does, while XGBoost's scikit-learn predict uses only those rounds: convert with bestIteration to match it`);
      }
    }
  }
  const classLabels = objective.output.kind === 'classification' ? sklearnClasses(attributes, objective.output.numClasses) : undefined;
  if (classLabels) notes.push(`the model was saved by XGBoost's scikit-learn wrapper with classes [${classLabels.join(', ')}]: the label output is the class, as its predict returns, not the index`);
  const recorded = sklearnMissing(attributes);
  // NaN is always missing: missing NaN (XGBoost's default) adds nothing.
  const missing = options.missing === undefined ? recorded : Number.isNaN(options.missing) ? undefined : Math.fround(options.missing);
  if (options.missing !== undefined && recorded !== undefined && !Object.is(Math.fround(options.missing), recorded)) {
    notes.push(`missing=${options.missing} as asked, not the missing=${recorded} that XGBoost's scikit-learn wrapper recorded with the model`);
  }
  if (options.missing === undefined && recorded !== undefined) {
    notes.push(`the model was saved by XGBoost's scikit-learn wrapper with missing=${recorded}: inputs equal to it are read as missing (as NaN is), as its predict reads them`);
  }
  if (weights && weights.length !== rawTrees.length) throw invalidModel('xgboost', `weight_drop has ${weights.length} weights for ${rawTrees.length} trees`);
  if (rawTrees.length === 0) throw invalidModel('xgboost', 'the model has no trees');
  const trees = rawTrees.map((t, i) => {
    if (!isObject(t)) throw invalidModel('xgboost', `trees[${i}] is not an object`, { tree: i });
    const target = treeInfo[i];
    if (typeof target !== 'number' || !Number.isInteger(target) || target < 0 || target >= objective.numTargets) {
      throw invalidModel('xgboost', `tree_info[${i}] = ${String(target)} is not an output index below ${objective.numTargets}`, { tree: i });
    }
    const tree = parseTree(t, i, target, weights ? (weights[i] as number) : 1);
    validateTree('xgboost', tree, i, numFeatures, objective.numTargets);
    return tree;
  });
  const baseScore = parseBaseScore(modelParam.base_score ?? '0.5');
  if (baseScore.length !== 1 && baseScore.length !== objective.numTargets) {
    throw invalidModel('xgboost', `base_score has ${baseScore.length} values for ${objective.numTargets} outputs`, { field: 'base_score' });
  }
  const base = Array.from({ length: objective.numTargets }, (_, k) => objective.toMargin(baseScore[baseScore.length === 1 ? 0 : k] as number));
  return {
    format: 'xgboost',
    objective: objectiveName,
    numFeatures,
    snapToZero: 0,
    ...(missing === undefined ? {} : { missingValue: missing }),
    ...(classLabels === undefined ? {} : { classLabels }),
    numTargets: objective.numTargets,
    base,
    combine: { kind: 'sum' },
    output: objective.output,
    trees,
    ...(notes.length ? { notes } : {}),
  };
}
