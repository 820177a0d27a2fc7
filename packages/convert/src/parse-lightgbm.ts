import { invalidModel, unsupportedModel } from './convert-errors.js';
import type { OutputSpec, Tree, TreeEnsemble, TreeNode } from './tree-ensemble.js';
import { validateTree } from './validate-tree.js';

/*
 * LightGBM's text model (Booster.save_model / model_to_string): a `key=value` header, then blocks
 * starting with `Tree=<i>`, then `end of trees`, feature importances and parameters. Leaf values already
 * include the shrinkage and, in the first trees, the boost-from-average initial score.
 */

const CATEGORICAL_MASK = 1;
const DEFAULT_LEFT_MASK = 2;
const MISSING_NONE = 0;
const MISSING_ZERO = 1;
const MISSING_NAN = 2;
/** LightGBM's kZeroThreshold (1e-35f). */
export const LIGHTGBM_ZERO_THRESHOLD = Math.fround(1e-35);

/** Objectives whose `predict` is the raw score, possibly squared back when trained with `reg_sqrt`. */
const IDENTITY_OBJECTIVES = new Set(['regression', 'regression_l1', 'huber', 'fair', 'quantile', 'mape']);
/** Objectives whose `predict` is exp(raw score). */
const EXP_OBJECTIVES = new Set(['poisson', 'gamma', 'tweedie']);
const SUPPORTED = [...IDENTITY_OBJECTIVES, ...EXP_OBJECTIVES, 'binary', 'multiclass', 'multiclassova', 'cross_entropy'];

type Header = Map<string, string>;

/**
 * The lines of the model: of its text, or of its UTF-8 bytes one line at a time, so that a model file
 * past the longest string JavaScript holds (2^29 - 24 characters, about 512 MB) is read all the same.
 */
function* linesOf(input: string | Uint8Array): Generator<string> {
  if (typeof input === 'string') {
    yield* input.split(/\r?\n/);
    return;
  }
  const decoder = new TextDecoder();
  let start = 0;
  while (start <= input.length) {
    let end = input.indexOf(0x0a, start);
    if (end < 0) end = input.length;
    // Each decode() starts a new stream, which drops a byte-order mark at its start: the file's own.
    yield decoder.decode(input.subarray(start, end > start && input[end - 1] === 0x0d ? end - 1 : end));
    start = end + 1;
  }
}

/**
 * Reads the header, then hands each tree block to `onTree` as soon as the next one starts (or the trees
 * end), so only one block's text is held at a time. A block cut short by the end of the file is never
 * handed on: `ended` says whether "end of trees" was reached.
 */
function readSections(input: string | Uint8Array, onTree: (header: Header, index: number, fields: Map<string, string>) => void): { header: Header; count: number; ended: boolean } {
  const header: Header = new Map();
  let current: { index: number; fields: Map<string, string> } | undefined;
  let count = 0;
  let ended = false;
  const finish = () => {
    if (current) onTree(header, current.index, current.fields);
    current = undefined;
  };
  for (const raw of linesOf(input)) {
    const line = raw.trim();
    if (line === '') continue;
    if (line === 'end of trees') {
      ended = true;
      finish();
      break;
    }
    const eq = line.indexOf('=');
    const key = eq < 0 ? line : line.slice(0, eq);
    const value = eq < 0 ? '' : line.slice(eq + 1);
    if (key === 'Tree') {
      finish();
      current = { index: Number(value), fields: new Map() };
      count++;
    } else if (current) {
      current.fields.set(key, value);
    } else {
      header.set(key, value);
    }
  }
  return { header, count, ended };
}

function numbers(format: 'int' | 'float', text: string | undefined, expected: number, what: string, tree: number): number[] {
  if (text === undefined) throw invalidModel('lightgbm', `tree ${tree} has no ${what} line; the file looks truncated or damaged — save the model again with Booster.save_model`, { tree, field: what });
  const parts = text.trim() === '' ? [] : text.trim().split(/\s+/);
  if (parts.length !== expected) {
    throw invalidModel('lightgbm', `tree ${tree}: ${what} has ${parts.length} values where ${expected} were expected; the file looks truncated or damaged`, { tree, field: what, found: parts.length, expected });
  }
  return parts.map((p) => {
    const v = Number(p);
    if (Number.isNaN(v) || (format === 'int' && !Number.isInteger(v))) {
      throw invalidModel('lightgbm', `tree ${tree}: ${what} holds "${p}", which is not ${format === 'int' ? 'an integer' : 'a number'}`, { tree, field: what });
    }
    return v;
  });
}

function headerInt(header: Header, key: string, fallback?: number): number {
  const text = header.get(key);
  if (text === undefined) {
    if (fallback !== undefined) return fallback;
    throw invalidModel('lightgbm', `the header has no ${key}= line; this is not a complete LightGBM text model`, { field: key });
  }
  const v = Number(text);
  if (!Number.isInteger(v) || v < 0) throw invalidModel('lightgbm', `header ${key}=${text} is not a non-negative integer`, { field: key });
  return v;
}

interface Objective {
  output: OutputSpec;
  numTargets: number;
}

function parseObjective(text: string | undefined, numClass: number): Objective {
  if (text === undefined || text.trim() === '') {
    throw unsupportedModel('lightgbm', 'objective', 'the model has no objective= line (a custom objective?), so what predict() returns is unknown; convert it with rawScore after saving it with a built-in objective, or retrain with one', {
      objective: null,
    });
  }
  const [name = '', ...params] = text.trim().split(/\s+/);
  const param = (key: string): string | undefined => params.find((p) => p.startsWith(`${key}:`))?.slice(key.length + 1);
  const sigmoid = (): number => {
    const k = Number(param('sigmoid') ?? '1');
    if (!(k > 0)) throw invalidModel('lightgbm', `objective "${text}": sigmoid:${param('sigmoid')} is not a positive number`, { objective: text });
    return k;
  };
  const classes = (): number => {
    const k = Number(param('num_class') ?? numClass);
    if (!Number.isInteger(k) || k < 2 || k !== numClass) {
      throw invalidModel('lightgbm', `objective "${text}" disagrees with num_class=${numClass} in the header`, { objective: text, numClass });
    }
    return k;
  };
  if (IDENTITY_OBJECTIVES.has(name)) return { numTargets: 1, output: { kind: 'regression', transform: params.includes('sqrt') ? 'signed-square' : 'identity' } };
  if (EXP_OBJECTIVES.has(name)) return { numTargets: 1, output: { kind: 'regression', transform: 'exp' } };
  if (name === 'cross_entropy') return { numTargets: 1, output: { kind: 'regression', transform: 'sigmoid' } };
  if (name === 'binary') {
    return { numTargets: 1, output: { kind: 'classification', numClasses: 2, transform: 'binary-sigmoid', sigmoidScale: sigmoid() } };
  }
  if (name === 'multiclass') {
    const k = classes();
    return { numTargets: k, output: { kind: 'classification', numClasses: k, transform: 'softmax', sigmoidScale: 1 } };
  }
  if (name === 'multiclassova') {
    const k = classes();
    return { numTargets: k, output: { kind: 'classification', numClasses: k, transform: 'sigmoid-per-class', sigmoidScale: sigmoid() } };
  }
  throw unsupportedModel('lightgbm', 'objective', `objective "${name}" is not supported (supported: ${SUPPORTED.join(', ')}); convert a model trained with one of those`, {
    objective: text.trim(),
  });
}

function parseTree(fields: Map<string, string>, index: number, numTargets: number): Tree {
  const target = index % numTargets;
  const leaves = Number(fields.get('num_leaves'));
  if (!Number.isInteger(leaves) || leaves < 1) {
    throw invalidModel('lightgbm', `tree ${index} has no valid num_leaves line; the file looks truncated or damaged — save the model again with Booster.save_model`, { tree: index });
  }
  if (fields.get('is_linear') !== undefined && fields.get('is_linear') !== '0') {
    throw unsupportedModel('lightgbm', 'linear trees', `tree ${index} is a linear tree (is_linear=1, trained with linear_tree=true): its leaves hold linear models, which ONNX tree ensembles cannot express; retrain with linear_tree=false`, { tree: index });
  }
  if (fields.get('shrinkage') === undefined) {
    // Every tree block ends with its shrinkage line: without it the block was cut short.
    throw invalidModel('lightgbm', `tree ${index} ends before its shrinkage= line; the file looks truncated — save the model again with Booster.save_model`, { tree: index });
  }
  const values = numbers('float', fields.get('leaf_value'), leaves, 'leaf_value', index);
  const inner = leaves - 1;
  const nodes: TreeNode[] = [];
  if (inner > 0) {
    const feature = numbers('int', fields.get('split_feature'), inner, 'split_feature', index);
    const threshold = numbers('float', fields.get('threshold'), inner, 'threshold', index);
    const decision = numbers('int', fields.get('decision_type'), inner, 'decision_type', index);
    const left = numbers('int', fields.get('left_child'), inner, 'left_child', index);
    const right = numbers('int', fields.get('right_child'), inner, 'right_child', index);
    // Internal nodes keep their indices; leaf j (encoded as ~j in the child arrays) becomes node inner + j.
    const child = (c: number): number => (c < 0 ? inner + ~c : c);
    for (let i = 0; i < inner; i++) {
      const d = decision[i] as number;
      if (d & CATEGORICAL_MASK) {
        throw unsupportedModel('lightgbm', 'categorical split', `tree ${index}, node ${i} is a categorical split (feature ${feature[i]}): categorical splits are not supported yet; retrain with the feature encoded as numbers (without categorical_feature)`, {
          tree: index,
          node: i,
        });
      }
      const missingType = (d >> 2) & 3;
      const t = threshold[i] as number;
      let missingLeft: boolean;
      if (missingType === MISSING_NONE) {
        // LightGBM turns NaN into 0 and compares it.
        missingLeft = 0 <= t;
      } else if (missingType === MISSING_ZERO || missingType === MISSING_NAN) {
        missingLeft = (d & DEFAULT_LEFT_MASK) !== 0;
      } else {
        throw invalidModel('lightgbm', `tree ${index}, node ${i}: decision_type ${d} has an unknown missing type ${missingType}`, { tree: index, node: i });
      }
      nodes.push({
        kind: 'split',
        feature: feature[i] as number,
        threshold: t,
        op: 'le',
        missingLeft,
        zeroIsMissing: missingType === MISSING_ZERO,
        left: child(left[i] as number),
        right: child(right[i] as number),
      });
    }
  }
  for (const v of values) nodes.push({ kind: 'leaf', weights: [{ target, value: v }] });
  return { nodes };
}

/** Reads a LightGBM text model (what `Booster.save_model` writes) into the tree IR. */
/** What the header says about every tree: the objective, trees per iteration and input width. */
function headerFacts(header: Header): { objective: Objective; perIteration: number; numFeatures: number } {
  const numClass = headerInt(header, 'num_class');
  const perIteration = headerInt(header, 'num_tree_per_iteration', numClass);
  const numFeatures = headerInt(header, 'max_feature_idx') + 1;
  const objective = parseObjective(header.get('objective'), numClass);
  if (perIteration !== objective.numTargets) {
    throw invalidModel('lightgbm', `num_tree_per_iteration=${perIteration} does not match the objective's ${objective.numTargets} outputs`, { perIteration });
  }
  return { objective, perIteration, numFeatures };
}

/** Parses a LightGBM text model, given as text or as the file's UTF-8 bytes (any size). */
export function parseLightGbm(text: string | Uint8Array): TreeEnsemble {
  if (typeof text !== 'string' && !(text instanceof Uint8Array)) throw invalidModel('lightgbm', 'expected the text of a model file (a string, or its bytes)');
  let model: { objective: Objective; perIteration: number; numFeatures: number } | undefined;
  const trees: Tree[] = [];
  // Each tree is parsed as soon as its block is read: a large forest's text is never all held at once.
  const { header, count, ended } = readSections(text, (header, index, fields) => {
    // The header is whole once the first tree block has been read.
    model ??= headerFacts(header);
    const i = trees.length;
    if (index !== i) throw invalidModel('lightgbm', `expected Tree=${i}, found Tree=${index}`, { tree: i });
    const tree = parseTree(fields, i, model.objective.numTargets);
    validateTree('lightgbm', tree, i, model.numFeatures, model.objective.numTargets);
    trees.push(tree);
  });
  if (!header.has('version') && !header.has('tree') && count === 0) {
    throw invalidModel('lightgbm', 'the text is not a LightGBM model (no "tree" header, no Tree= blocks)');
  }
  const sizes = header.get('tree_sizes');
  const expectedTrees = sizes === undefined ? undefined : sizes.trim().split(/\s+/).filter(Boolean).length;
  // Truncation before the header's facts: a file cut inside its header would otherwise be read as a
  // model without an objective (a custom one?) or with an unknown one ("objective=regressi"), and
  // refused as unsupported.
  if (!ended) {
    throw invalidModel('lightgbm', `the text ends before "end of trees" (${count}${expectedTrees === undefined ? '' : ` of ${expectedTrees}`} trees found): the file looks truncated — save the model again with Booster.save_model`, {
      found: count,
      ...(expectedTrees === undefined ? {} : { expected: expectedTrees }),
    });
  }
  const { objective, perIteration, numFeatures } = model ?? headerFacts(header);
  if (expectedTrees !== undefined && expectedTrees !== count) {
    throw invalidModel('lightgbm', `tree_sizes lists ${expectedTrees} trees but the file holds ${count}: it is damaged — save the model again`, { found: count, expected: expectedTrees });
  }
  if (count === 0) throw invalidModel('lightgbm', 'the model has no trees');
  if (count % perIteration !== 0) {
    throw invalidModel('lightgbm', `${count} trees is not a whole number of iterations of ${perIteration} trees`, { found: count });
  }
  // Random-forest mode (boosting=rf) averages the iterations instead of summing them.
  const combine = header.has('average_output') ? { kind: 'mean' as const, count: count / perIteration } : { kind: 'sum' as const };
  return {
    format: 'lightgbm',
    objective: (header.get('objective') ?? '').trim(),
    numFeatures,
    snapToZero: LIGHTGBM_ZERO_THRESHOLD,
    numTargets: objective.numTargets,
    base: new Array<number>(objective.numTargets).fill(0),
    combine,
    output: objective.output,
    trees,
  };
}
