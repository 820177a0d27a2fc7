import { DataType, ModelBuilder, attr, onnx, type GraphBuilder, type Model } from '@onnx-forge/core';
import { unsupportedModel } from './convert-errors.js';
import { float32AtLeast, float32AtMost } from './float32-bounds.js';
import type { SplitNode, TreeEnsemble } from './tree-ensemble.js';

/*
 * Operator choice. Both onnxruntime-node 1.30 and onnxruntime-web 1.30 (wasm) run TreeEnsemble from
 * ai.onnx.ml opset 5 as well as TreeEnsembleRegressor from opset 3 (checked by experiment, and pinned
 * in build-onnx.test.ts). We emit TreeEnsembleRegressor at ai.onnx.ml opset 3:
 * opset 5 buys nothing these models need (its set-membership splits would only matter for categorical
 * splits, which are refused), while opset 3 also loads in every onnxruntime since 1.x and in runtimes
 * that never implemented opset 5. The objective's transform, the label and the probabilities are built
 * with plain ai.onnx ops instead of TreeEnsembleClassifier's post_transform, whose binary case adds
 * scores in ways the spec leaves open; one graph shape then serves LightGBM, XGBoost and mljs alike.
 * The model imports the default ai.onnx opset explicitly (omitting it is a known onnxmltools bug that
 * breaks some runtimes).
 */
export const ONNX_OPSET = 17;
export const ML_OPSET = 3;

export interface BuildOptions {
  /** Output the raw scores (margins) instead of the objective's transform. */
  rawScore?: boolean;
  /** Name of the float input [N, features] (default `input`). */
  inputName?: string;
}

/** Output names of converted models, the same for the mljs backend. */
export const OUTPUT_NAMES = { label: 'label', probabilities: 'probabilities', rawScore: 'raw_score', variable: 'variable' } as const;

interface EnsembleAttributes {
  treeIds: number[];
  nodeIds: number[];
  featureIds: number[];
  modes: string[];
  values: number[];
  trueIds: number[];
  falseIds: number[];
  missingTrue: number[];
  targetTreeIds: number[];
  targetNodeIds: number[];
  targetIds: number[];
  targetWeights: number[];
}

/**
 * onnxruntime compares float32 inputs with float32 thresholds: each double threshold is rounded in
 * the direction that keeps every float32 decision (see float32-bounds.ts). `trueIsLeft` says whether
 * the ONNX true branch is the IR's left child.
 */
function branch(node: SplitNode, trueIsLeft: boolean): { mode: string; value: number } {
  if (node.op === 'le') return { mode: trueIsLeft ? 'BRANCH_LEQ' : 'BRANCH_GT', value: float32AtMost(node.threshold) };
  return { mode: trueIsLeft ? 'BRANCH_LT' : 'BRANCH_GTE', value: float32AtLeast(node.threshold) };
}

function lowerTrees(ensemble: TreeEnsemble): EnsembleAttributes {
  const a: EnsembleAttributes = {
    treeIds: [], nodeIds: [], featureIds: [], modes: [], values: [], trueIds: [], falseIds: [], missingTrue: [],
    targetTreeIds: [], targetNodeIds: [], targetIds: [], targetWeights: [],
  };
  const vote = ensemble.combine.kind === 'vote';
  const k = ensemble.numTargets;
  const push = (tree: number, id: number, feature: number, mode: string, value: number, t: number, f: number, missing: boolean): void => {
    a.treeIds.push(tree);
    a.nodeIds.push(id);
    a.featureIds.push(feature);
    a.modes.push(mode);
    a.values.push(value);
    a.trueIds.push(t);
    a.falseIds.push(f);
    a.missingTrue.push(missing ? 1 : 0);
  };
  ensemble.trees.forEach((tree, t) => {
    // IR node i keeps id i, so the root (node 0) comes first, as onnxruntime expects of every tree.
    let next = tree.nodes.length;
    tree.nodes.forEach((node, i) => {
      if (node.kind === 'leaf') {
        push(t, i, 0, 'LEAF', 0, 0, 0, false);
        for (const w of node.weights) {
          a.targetTreeIds.push(t);
          a.targetNodeIds.push(i);
          // Votes are kept per tree (target t·K + class), so the graph can replay mljs's tie-break.
          a.targetIds.push(vote ? t * k + w.target : w.target);
          a.targetWeights.push(w.value);
        }
        return;
      }
      if (!node.zeroIsMissing) {
        const { mode, value } = branch(node, true);
        push(t, i, node.feature, mode, value, node.left, node.right, node.missingLeft);
        return;
      }
      // Zero-as-missing (LightGBM): 0 (inputs are snapped to 0 first, as LightGBM's predictor does) and
      // NaN go to the default child D; other values are compared. nodes_missing_value_tracks_true only
      // routes NaN, so a BRANCH_EQ 0 node (true: D, NaN tracked to true) goes before the comparison S,
      // whose true branch is D too. D then has two parents: onnxruntime accepts a node shared through
      // true branches (it flattens each tree depth-first, false branch first, and only a false child
      // must be new), so S is written as the EQ node's false child and D is only a true child of S.
      const d = node.missingLeft ? node.left : node.right;
      const other = node.missingLeft ? node.right : node.left;
      const s = next++;
      push(t, i, node.feature, 'BRANCH_EQ', 0, d, s, true);
      const { mode, value } = branch(node, node.missingLeft);
      push(t, s, node.feature, mode, value, d, other, true);
    });
  });
  return a;
}

function addTreeEnsemble(b: GraphBuilder, x: string, ensemble: TreeEnsemble, outputName?: string): string {
  const a = lowerTrees(ensemble);
  const vote = ensemble.combine.kind === 'vote';
  const nTargets = vote ? ensemble.trees.length * ensemble.numTargets : ensemble.numTargets;
  // With `mean`, the base is added after the division (below), not inside the ensemble.
  const baseInside = ensemble.combine.kind === 'sum' && ensemble.base.some((v) => v !== 0);
  const attributes = {
    n_targets: attr.int('n_targets', nTargets),
    nodes_treeids: attr.ints('nodes_treeids', a.treeIds),
    nodes_nodeids: attr.ints('nodes_nodeids', a.nodeIds),
    nodes_featureids: attr.ints('nodes_featureids', a.featureIds),
    nodes_modes: attr.strings('nodes_modes', a.modes),
    nodes_values: attr.floats('nodes_values', a.values),
    nodes_truenodeids: attr.ints('nodes_truenodeids', a.trueIds),
    nodes_falsenodeids: attr.ints('nodes_falsenodeids', a.falseIds),
    nodes_missing_value_tracks_true: attr.ints('nodes_missing_value_tracks_true', a.missingTrue),
    target_treeids: attr.ints('target_treeids', a.targetTreeIds),
    target_nodeids: attr.ints('target_nodeids', a.targetNodeIds),
    target_ids: attr.ints('target_ids', a.targetIds),
    target_weights: attr.floats('target_weights', a.targetWeights),
    aggregate_function: attr.string('aggregate_function', 'SUM'),
    post_transform: attr.string('post_transform', 'NONE'),
    ...(baseInside ? { base_values: attr.floats('base_values', ensemble.base) } : {}),
  };
  return b.op('TreeEnsembleRegressor', [x], attributes, { domain: 'ai.onnx.ml', ...(outputName ? { outputs: [outputName] } : {}) });
}

/*
 * Tree depth. onnxruntime builds each tree of a TreeEnsemble recursively, one native stack frame per
 * level, when a session is created. Measured with onnxruntime 1.30 on Linux x64 (a chain of splits):
 * onnxruntime-node kills the whole process with a segmentation fault past about 5,500 levels in a
 * worker thread (Node gives workers 4 MB of stack) and 10,700 on the main thread; onnxruntime-web
 * (wasm) refuses past about 1,850 levels with "Maximum call stack size exceeded". A model that crashes
 * whatever loads it is refused instead; one that onnxruntime-web may not load gets a warning.
 */
/** Deepest tree (splits on one path, as the ONNX model has them) a conversion accepts. */
export const MAX_TREE_DEPTH = 2048;
/** Deeper trees than this may not load in onnxruntime-web (the conversion warns). */
export const WEB_TREE_DEPTH = 1024;

/**
 * The deepest tree of the ONNX form of an ensemble: the number of split nodes on its longest path,
 * a zero-as-missing split counting twice (it becomes a BRANCH_EQ node in front of the comparison).
 */
export function onnxTreeDepth(ensemble: TreeEnsemble): { depth: number; tree: number } {
  let deepest = { depth: 0, tree: 0 };
  ensemble.trees.forEach((tree, t) => {
    const stack: [number, number][] = [[0, 0]];
    while (stack.length) {
      const [i, depth] = stack.pop() as [number, number];
      const node = tree.nodes[i];
      if (!node) continue;
      if (node.kind === 'leaf') {
        if (depth > deepest.depth) deepest = { depth, tree: t };
        continue;
      }
      const below = depth + (node.zeroIsMissing ? 2 : 1);
      stack.push([node.left, below], [node.right, below]);
    }
  });
  return deepest;
}

/** Builds the ONNX model: input `inputName` float [N, features]; outputs as described in the README. */
export function treeEnsembleToOnnx(ensemble: TreeEnsemble, options: BuildOptions = {}): Model {
  const { depth, tree } = onnxTreeDepth(ensemble);
  if (depth > MAX_TREE_DEPTH) {
    throw unsupportedModel(
      ensemble.format,
      'tree depth',
      `tree ${tree} is ${depth} levels deep in ONNX form, past the ${MAX_TREE_DEPTH} this converter writes: onnxruntime builds trees recursively when it loads a model and crashes the process (onnxruntime-node, past about 5,500 levels in a worker thread) or fails (onnxruntime-web, past about 1,850); retrain with a depth limit (LightGBM max_depth, XGBoost max_depth, mljs maxDepth), or score the trees in JavaScript with predictTrees`,
      { tree, depth, limit: MAX_TREE_DEPTH },
    );
  }
  const b = new ModelBuilder({ opset: ONNX_OPSET, opsets: { 'ai.onnx.ml': ML_OPSET }, graphName: `${ensemble.format}_tree_ensemble`, producerName: 'onnx-forge' });
  const n = 'N';
  let x = b.input(options.inputName ?? 'input', 'float32', [n, ensemble.numFeatures]);
  if (ensemble.snapToZero > 0) {
    // LightGBM's predictor reads |x| <= 1e-35f as 0 (it keeps only larger values as non-zero entries).
    const tiny = b.op('LessOrEqual', [b.op('Abs', [x]), b.constant(ensemble.snapToZero, 'float32')]);
    x = b.op('Where', [tiny, b.constant(0, 'float32'), x]);
  }
  if (ensemble.missingValue !== undefined && !Number.isNaN(ensemble.missingValue)) {
    // XGBoost's DMatrix(missing=m) drops entries equal to m (as float32): they go where NaN goes.
    const missing = b.op('Equal', [x, b.constant(Math.fround(ensemble.missingValue), 'float32')]);
    x = b.op('Where', [missing, b.constant(Number.NaN, 'float32'), x]);
  }
  const spec = ensemble.output;
  const { label, probabilities, rawScore, variable } = OUTPUT_NAMES;
  const k = ensemble.numTargets;

  if (ensemble.combine.kind === 'vote') {
    const t = ensemble.trees.length;
    const perTree = b.op('Reshape', [addTreeEnsemble(b, x, ensemble), b.constant([0, t, k], 'int64')]);
    const counts = b.op('ReduceSum', [perTree, b.constant([1], 'int64')], { keepdims: 0 });
    b.op('Div', [counts, b.constant(t, 'float32')], {}, { outputs: [probabilities] });
    // ml-array-mode's tie-break: the class whose running count first reaches the final maximum. Counts
    // only grow and one class moves per tree, so that class is the one that sits at the maximum for
    // the most trees; argmax over "steps spent at the maximum" has no ties.
    const running = b.op('CumSum', [perTree, b.constant(1, 'int64')]);
    const max = b.op('ReduceMax', [running], { axes: attr.ints('axes', [1, 2]), keepdims: 1 });
    const atMax = b.op('Cast', [b.op('Equal', [running, max])], { to: DataType.FLOAT });
    const steps = b.op('ReduceSum', [atMax, b.constant([1], 'int64')], { keepdims: 0 });
    b.op('ArgMax', [steps], { axis: 1, keepdims: 0 }, { outputs: [label] });
    b.output(label, 'int64', [n]);
    b.output(probabilities, 'float32', [n, k]);
    return finish(b, ensemble);
  }

  const raw = options.rawScore === true;
  // Where the ensemble's sums are the output itself, name them so and add no Identity node.
  const direct =
    ensemble.combine.kind === 'sum' &&
    (spec.kind === 'regression' ? raw || spec.transform === 'identity' : spec.transform === 'none' && !raw);
  const directName = spec.kind === 'regression' ? variable : probabilities;
  let scores = addTreeEnsemble(b, x, ensemble, direct ? directName : undefined);
  if (ensemble.combine.kind === 'mean') {
    scores = b.op('Div', [scores, b.constant(ensemble.combine.count, 'float32')]);
    if (ensemble.base.some((v) => v !== 0)) scores = b.op('Add', [scores, b.constant(ensemble.base, 'float32', [1, k])]);
  }

  if (spec.kind === 'regression') {
    const out = (op: string, inputs: string[]): string => b.op(op, inputs, {}, { outputs: [variable] });
    if (raw || spec.transform === 'identity') {
      if (!direct) out('Identity', [scores]);
    } else if (spec.transform === 'exp') out('Exp', [scores]);
    else if (spec.transform === 'sigmoid') logistic(b, scores, true, { outputs: [variable] });
    else out('Mul', [scores, b.op('Abs', [scores])]);
    b.output(variable, 'float32', [n, 1]);
    return finish(b, ensemble);
  }

  const scaled = (s: string): string => (spec.sigmoidScale === 1 ? s : b.op('Mul', [s, b.constant(spec.sigmoidScale, 'float32')]));
  const probName = raw ? undefined : { outputs: [probabilities] };
  let probs: string;
  switch (spec.transform) {
    case 'binary-sigmoid': {
      // P(0) = 1 / (1 + exp(z)) directly: 1 − P(1) would lose its relative precision as P(1) nears 1.
      const z = scaled(scores);
      probs = b.op('Concat', [logistic(b, z, false), logistic(b, z, true)], { axis: 1 }, probName);
      break;
    }
    case 'softmax':
      probs = b.op('Softmax', [scores], { axis: 1 }, probName);
      break;
    case 'sigmoid-per-class':
      probs = logistic(b, scaled(scores), true, probName);
      break;
    case 'none':
      probs = raw || direct ? scores : b.op('Identity', [scores], {}, probName);
      break;
  }
  // The label is the argmax of the probabilities (first on a tie) in both modes, so rawScore changes
  // the second output only.
  if (ensemble.classLabels) {
    // The class index picks the label the source's predict returns for it.
    const index = b.op('ArgMax', [probs], { axis: 1, keepdims: 0 });
    b.op('Gather', [b.constant(ensemble.classLabels, 'int64'), index], { axis: 0 }, { outputs: [label] });
  } else {
    b.op('ArgMax', [probs], { axis: 1, keepdims: 0 }, { outputs: [label] });
  }
  b.output(label, 'int64', [n]);
  if (raw) {
    b.op('Identity', [scores], {}, { outputs: [rawScore] });
    b.output(rawScore, 'float32', [n, k]);
  } else {
    b.output(probabilities, 'float32', [n, spec.numClasses]);
  }
  return finish(b, ensemble);
}

/**
 * 1 / (1 + exp(−x)) from Exp and Div. onnxruntime's Sigmoid kernel (and the LOGISTIC post_transform of
 * its tree ensembles) is a fast approximation whose relative error grows without bound as the output
 * nears 0 (microsoft/onnxruntime#22557, #26281), which small class probabilities expose;
 * parse-lightgbm.test.ts holds this form to a relative error of 1e-6 at x = −20 on both onnxruntime
 * builds.
 */
function logistic(b: GraphBuilder, x: string, negate: boolean, options?: { outputs: string[] }): string {
  const e = b.op('Exp', [negate ? b.op('Neg', [x]) : x]);
  return b.op('Div', [b.constant(1, 'float32'), b.op('Add', [b.constant(1, 'float32'), e])], {}, options);
}

function finish(b: ModelBuilder, ensemble: TreeEnsemble): Model {
  const model = b.build();
  const meta = { 'onnx-forge.source_format': ensemble.format, 'onnx-forge.objective': ensemble.objective };
  for (const [key, value] of Object.entries(meta)) model.proto.metadataProps.push(new onnx.StringStringEntryProto({ key, value }));
  return model;
}
