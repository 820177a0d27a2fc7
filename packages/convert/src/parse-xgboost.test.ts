import { ForgeErrorCode, checkModel, encodeModel, isForgeError } from '@onnx-forge/core';
import { describe, expect, it } from 'vitest';
import { convertModel, convertXgboost } from './convert-model.js';
import { parseBaseScore, parseXgboost } from './parse-xgboost.js';
import { predictTrees } from './predict-trees.js';
import { ORT_BACKENDS, floats, ints, runOnce } from './testing/ort.js';
import { XGBOOST_TYPED_ARRAYS, toUbjson } from './testing/ubjson-writer.js';

/*
 * XGBoost JSON models written by hand from the documented schema (doc/model.schema): each tree is
 * parallel arrays; -1 in left_children marks a leaf whose value is in split_conditions; splits send
 * x < condition left (strictly) and NaN where default_left says. Expected predictions are worked out
 * by hand below, tree by tree, not with the converter's own scorer.
 */
interface HandNode {
  /** A leaf value, or a split [feature, condition, defaultLeft, leftChild, rightChild]. */
  leaf?: number;
  split?: [number, number, 0 | 1, number, number];
  categorical?: boolean;
}

function xgbTree(id: number, nodes: HandNode[], features: number): Record<string, unknown> {
  return {
    base_weights: nodes.map(() => 0),
    categories: [], categories_nodes: [], categories_segments: [], categories_sizes: [],
    default_left: nodes.map((n) => n.split?.[2] ?? 0),
    id,
    left_children: nodes.map((n) => n.split?.[3] ?? -1),
    loss_changes: nodes.map(() => 0),
    parents: nodes.map(() => 2147483647),
    right_children: nodes.map((n) => n.split?.[4] ?? -1),
    split_conditions: nodes.map((n) => n.leaf ?? n.split?.[1] ?? 0),
    split_indices: nodes.map((n) => n.split?.[0] ?? 0),
    split_type: nodes.map((n) => (n.categorical ? 1 : 0)),
    sum_hessian: nodes.map(() => 1),
    tree_param: { num_deleted: '0', num_feature: String(features), num_nodes: String(nodes.length), size_leaf_vector: '1' },
  };
}

function xgbModel(objective: string, baseScore: string, trees: HandNode[][], treeInfo: number[], features = 2, numClass = 0): Record<string, unknown> {
  return {
    learner: {
      attributes: {},
      feature_names: [],
      feature_types: [],
      gradient_booster: {
        model: {
          gbtree_model_param: { num_parallel_tree: '1', num_trees: String(trees.length) },
          iteration_indptr: [0],
          tree_info: treeInfo,
          trees: trees.map((t, i) => xgbTree(i, t, features)),
        },
        name: 'gbtree',
      },
      learner_model_param: { base_score: baseScore, boost_from_average: '1', num_class: String(numClass), num_feature: String(features), num_target: '1' },
      objective: numClass ? { name: objective, softmax_multiclass_param: { num_class: String(numClass) } } : { name: objective, reg_loss_param: { scale_pos_weight: '1' } },
    },
    version: [2, 1, 3],
  };
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const logit = (p: number) => Math.log(p / (1 - p));
const JUST_BELOW_HALF = Math.fround(0.49999997);

// Tree A: f0 < 0.5 (NaN left) ? 0.3 : (f1 < -1 (NaN right) ? -0.2 : 0.1)
const TREE_A: HandNode[] = [{ split: [0, 0.5, 1, 1, 2] }, { leaf: 0.3 }, { split: [1, -1, 0, 3, 4] }, { leaf: -0.2 }, { leaf: 0.1 }];
// Tree B: f1 < 2 (NaN right) ? 0.05 : -0.4
const TREE_B: HandNode[] = [{ split: [1, 2, 0, 1, 2] }, { leaf: 0.05 }, { leaf: -0.4 }];

// Rows and the leaves each tree reaches, by hand.
const ROWS: { x: [number, number]; a: number; b: number }[] = [
  { x: [0.2, 0], a: 0.3, b: 0.05 }, //              0.2 < 0.5 left; 0 < 2 left
  { x: [0.5, -3], a: -0.2, b: 0.05 }, //            0.5 < 0.5 is false (strict): right, then -3 < -1 left
  { x: [JUST_BELOW_HALF, 5], a: 0.3, b: -0.4 }, //  the float32 below 0.5 goes left; 5 >= 2 right
  { x: [NaN, NaN], a: 0.3, b: -0.4 }, //            NaN: default left in A's root, default right in B
  { x: [1, NaN], a: 0.1, b: -0.4 }, //              right, then NaN default right in A's node 2
  { x: [1, -1], a: 0.1, b: 0.05 }, //               -1 < -1 false: right
];
const INPUT = Float32Array.from(ROWS.flatMap((r) => r.x));

function close(got: readonly number[], want: readonly number[], rel = 2e-6): void {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(Math.abs(g - (want[i] as number)), `value ${i}: ${g} vs ${want[i]}`).toBeLessThanOrEqual(rel * Math.max(Math.abs(want[i] as number), 1e-3)));
}

describe('XGBoost JSON models written by hand', () => {
  for (const backend of ORT_BACKENDS) {
    it(`binary:logistic on onnxruntime-${backend}: base_score 0.6 enters as logit(0.6); strict splits; NaN follows default_left`, async () => {
      const model = xgbModel('binary:logistic', '6E-1', [TREE_A, TREE_B], [0, 0]);
      const p = ROWS.map((r) => sigmoid(logit(0.6) + r.a + r.b));
      const out = await runOnce(backend, convertXgboost(model).model, INPUT, ROWS.length);
      close(floats(out.probabilities), p.flatMap((q) => [1 - q, q]));
      expect(ints(out.label)).toEqual(p.map((q) => (q > 0.5 ? 1 : 0)));
      const raw = await runOnce(backend, convertXgboost(model, { rawScore: true }).model, INPUT, ROWS.length);
      close(floats(raw.raw_score), ROWS.map((r) => logit(0.6) + r.a + r.b));
    });

    it(`reg:squarederror on onnxruntime-${backend}: base_score "[5E-1]" added as is`, async () => {
      const model = xgbModel('reg:squarederror', '[5E-1]', [TREE_A, TREE_B], [0, 0]);
      const out = await runOnce(backend, convertXgboost(JSON.stringify(model)).model, INPUT, ROWS.length);
      close(floats(out.variable), ROWS.map((r) => 0.5 + r.a + r.b));
      expect(out.variable?.dims).toEqual([ROWS.length, 1]);
    });

    it(`multi:softprob on onnxruntime-${backend}: trees go to classes by tree_info; a per-class base_score vector`, async () => {
      // Class 0: tree A; class 1: tree B; class 2: a constant tree 0.7, then tree A again for class 0.
      const model = xgbModel('multi:softprob', '[1E-1,2E-1,-3E-1]', [TREE_A, TREE_B, [{ leaf: 0.7 }], TREE_A], [0, 1, 2, 0], 2, 3);
      const margins = ROWS.map((r) => [0.1 + 2 * r.a, 0.2 + r.b, -0.3 + 0.7]);
      const probs = margins.map((m) => {
        const e = m.map(Math.exp);
        const s = e.reduce((x, y) => x + y);
        return e.map((v) => v / s);
      });
      const out = await runOnce(backend, convertXgboost(model).model, INPUT, ROWS.length);
      close(floats(out.probabilities), probs.flat());
      expect(ints(out.label)).toEqual(probs.map((p) => p.indexOf(Math.max(...p))));
      const raw = await runOnce(backend, convertXgboost(model, { rawScore: true }).model, INPUT, ROWS.length);
      close(floats(raw.raw_score), margins.flat());
    });
  }

  for (const backend of ORT_BACKENDS) {
    it(`multi:softprob saved as UBJSON (.ubj, XGBoost's default binary form) on onnxruntime-${backend}: the predictions worked out by hand`, async () => {
      const model = xgbModel('multi:softprob', '[1E-1,2E-1,-3E-1]', [TREE_A, TREE_B, [{ leaf: 0.7 }], TREE_A], [0, 1, 2, 0], 2, 3);
      const converted = convertModel(toUbjson(model, XGBOOST_TYPED_ARRAYS));
      expect(converted.report).toMatchObject({ format: 'xgboost', objective: 'multi:softprob', trees: 4, classes: 3 });
      // Leaves are float32 in .ubj: compare at float32 precision.
      const margins = ROWS.map((r) => [0.1 + 2 * r.a, 0.2 + r.b, -0.3 + 0.7]);
      const out = await runOnce(backend, convertXgboost(toUbjson(model, XGBOOST_TYPED_ARRAYS), { rawScore: true }).model, INPUT, ROWS.length);
      close(floats(out.raw_score), margins.flat());
      const probs = await runOnce(backend, converted.model, INPUT, ROWS.length);
      expect(ints(probs.label)).toEqual(margins.map((m) => m.indexOf(Math.max(...m))));
    });
  }

  it('a model saved as UBJSON converts to the same ONNX bytes as the same model saved as JSON (binary, multi-class, dart, deleted nodes)', () => {
    const binary = xgbModel('binary:logistic', '6E-1', [TREE_A, TREE_B], [0, 0]);
    const multi = xgbModel('multi:softprob', '[1E-1,2E-1,-3E-1]', [TREE_A, TREE_B, [{ leaf: 0.7 }], TREE_A], [0, 1, 2, 0], 2, 3);
    const dart = xgbModel('reg:squarederror', '0E0', [TREE_A, TREE_B], [0, 0]);
    const learner = dart.learner as Record<string, unknown>;
    learner.gradient_booster = { name: 'dart', gbtree: { name: 'gbtree', model: (learner.gradient_booster as Record<string, unknown>).model }, weight_drop: [0.5, 2] };
    for (const model of [binary, multi, dart]) {
      // Both read in float32, as XGBoost stores them: JSON prints each value as the shortest decimal of its float32.
      const asFloat32 = JSON.parse(JSON.stringify(model, (k, v: unknown) => (XGBOOST_TYPED_ARRAYS[k] === 'd' && Array.isArray(v) ? v.map((x) => Math.fround(x as number)) : v))) as object;
      const fromJson = convertModel(JSON.stringify(asFloat32));
      const fromUbj = convertModel(toUbjson(model, XGBOOST_TYPED_ARRAYS));
      expect(fromUbj.report).toEqual(fromJson.report);
      expect(Buffer.from(encodeModel(fromUbj.model.proto)).equals(Buffer.from(encodeModel(fromJson.model.proto)))).toBe(true);
    }
  });

  it('multi:softprob with a single base_score adds it to every class (softmax ignores it)', () => {
    const model = xgbModel('multi:softmax', '5E-1', [TREE_A, TREE_B, [{ leaf: 0.7 }]], [0, 1, 2], 2, 3);
    const e = parseXgboost(model);
    expect(e.base).toEqual([0.5, 0.5, 0.5]);
    const js = predictTrees(e, INPUT, { rawScore: true });
    close(Array.from(js.output), ROWS.flatMap((r) => [0.5 + r.a, 0.5 + r.b, 0.5 + 0.7]), 1e-7);
  });

  it('reg:logistic and count:poisson map base_score through their links', async () => {
    const lr = xgbModel('reg:logistic', '2.5E-1', [TREE_B], [0]);
    close(floats((await runOnce('node', convertXgboost(lr).model, INPUT, ROWS.length)).variable), ROWS.map((r) => sigmoid(logit(0.25) + r.b)));
    const po = xgbModel('count:poisson', '2E0', [TREE_B], [0]);
    close(floats((await runOnce('node', convertXgboost(po).model, INPUT, ROWS.length)).variable), ROWS.map((r) => Math.exp(Math.log(2) + r.b)));
  });

  it('early stopping: every round by default (Booster.predict) with a warning; bestIteration keeps the rounds up to best_iteration', async () => {
    for (const indptr of [[0, 1, 2, 3], [0]]) {
      // Three rounds, best_iteration 1; with [0] (as some writers leave it) rounds are counted from num_parallel_tree.
      const model = xgbModel('reg:squarederror', '0E0', [TREE_A, TREE_B, TREE_A], [0, 0, 0]);
      const learner = model.learner as Record<string, Record<string, unknown>>;
      (learner.attributes as Record<string, unknown>).best_iteration = '1';
      ((learner.gradient_booster as Record<string, Record<string, unknown>>).model as Record<string, unknown>).iteration_indptr = indptr;
      const all = convertXgboost(model);
      expect(all.report.trees).toBe(3);
      expect(all.report.warnings).toEqual([expect.stringMatching(/^trained with early stopping \(best_iteration 1: its first 2 rounds, 2 of 3 trees\); the ONNX model uses every tree, as Booster\.predict does.*convert with bestIteration to match it$/)]);
      close(floats((await runOnce('node', all.model, INPUT, ROWS.length)).variable), ROWS.map((r) => 2 * r.a + r.b));
      const best = convertXgboost(model, { bestIteration: true });
      expect(best.report.trees).toBe(2);
      expect(best.report.warnings).toEqual([expect.stringMatching(/^kept the rounds up to best_iteration 1/)]);
      close(floats((await runOnce('node', best.model, INPUT, ROWS.length)).variable), ROWS.map((r) => r.a + r.b));
    }
    const plain = xgbModel('reg:squarederror', '0E0', [TREE_A], [0]);
    expect(convertXgboost(plain).report.warnings).toEqual([]);
    // An empty best_iteration is no count (Number('') would make it 0).
    const empty = structuredClone(plain);
    ((empty.learner as Record<string, Record<string, unknown>>).attributes as Record<string, unknown>).best_iteration = '';
    expect(() => convertXgboost(empty)).toThrow(expect.objectContaining({ code: ForgeErrorCode.INVALID_MODEL, message: expect.stringMatching(/best_iteration is "", not a count/) }));
    expect(() => convertXgboost(plain, { bestIteration: true })).toThrow(expect.objectContaining({ code: ForgeErrorCode.INVALID_OPTIONS, message: expect.stringMatching(/no best_iteration/) }));
    expect(() => convertModel('tree\nversion=v4\n', { from: 'lightgbm', bestIteration: true })).toThrow(expect.objectContaining({ code: ForgeErrorCode.INVALID_OPTIONS }));
  });

  it('best_iteration past the rounds in the file: bestIteration refuses the model (FORGE_INVALID_MODEL); without it, every round and a warning', async () => {
    for (const indptr of [[0, 1, 2], undefined]) {
      // Two rounds, best_iteration 7: no early stopping writes that, so the file was edited or cut.
      const model = xgbModel('reg:squarederror', '0E0', [TREE_A, TREE_B], [0, 0]);
      const learner = model.learner as Record<string, Record<string, unknown>>;
      (learner.attributes as Record<string, unknown>).best_iteration = '7';
      if (indptr) ((learner.gradient_booster as Record<string, Record<string, unknown>>).model as Record<string, unknown>).iteration_indptr = indptr;
      expect(() => convertXgboost(model, { bestIteration: true })).toThrow(
        expect.objectContaining({
          code: ForgeErrorCode.INVALID_MODEL,
          message: expect.stringMatching(/^XGBoost model: learner\.attributes\.best_iteration is 7, but the model has only 2 rounds .*inconsistent/),
          details: expect.objectContaining({ bestIteration: 7, rounds: 2 }),
        }),
      );
      const all = convertXgboost(model);
      expect(all.report.trees).toBe(2);
      expect(all.report.warnings).toEqual([expect.stringMatching(/^learner\.attributes\.best_iteration is 7, but the model has only 2 rounds .*uses every round, as Booster\.predict does$/)]);
      close(floats((await runOnce('node', all.model, INPUT, ROWS.length)).variable), ROWS.map((r) => r.a + r.b));
    }
    // best_iteration on the last round keeps every tree, silently: nothing is dropped.
    const last = xgbModel('reg:squarederror', '0E0', [TREE_A, TREE_B], [0, 0]);
    ((last.learner as Record<string, Record<string, unknown>>).attributes as Record<string, unknown>).best_iteration = '1';
    expect(convertXgboost(last, { bestIteration: true }).report).toMatchObject({ trees: 2, warnings: [] });
  });

  it('dart scales each tree by its drop weight', async () => {
    const model = xgbModel('reg:squarederror', '0E0', [TREE_A, TREE_B], [0, 0]);
    const learner = model.learner as Record<string, unknown>;
    const gb = learner.gradient_booster as Record<string, unknown>;
    learner.gradient_booster = { name: 'dart', gbtree: { name: 'gbtree', model: gb.model }, weight_drop: [0.5, 2] };
    close(floats((await runOnce('node', convertXgboost(model).model, INPUT, ROWS.length)).variable), ROWS.map((r) => 0.5 * r.a + 2 * r.b));
  });

  // XGBoost 1.x's scikit-learn wrapper writes its parameters into the learner's "scikit_learn"
  // attribute (json.dumps: NaN bare) and predicts with DMatrix(X, missing=self.missing), which drops
  // NaN and every value equal to missing. By hand, with missing = -999:
  //   [1, -999]:    A: 1 >= 0.5 right, then f1 missing -> default right 0.1; B: f1 missing -> right -0.4
  //   [-999, -999]: A: f0 missing -> default left 0.3;                        B: missing -> right -0.4
  //   [-999, 0]:    A: missing -> left 0.3;                                   B: 0 < 2 left 0.05
  //   [NaN, 1]:     A: NaN -> left 0.3;                                        B: 1 < 2 left 0.05
  // (read as numbers, -999 would go left everywhere: -0.2 + 0.05 for the first row).
  it('a missing value recorded by the 1.x scikit-learn wrapper (missing=-999) is read as missing, as its predict does', async () => {
    const rows = Float32Array.from([1, -999, -999, -999, -999, 0, NaN, 1]);
    const want = [0.1 - 0.4, 0.3 - 0.4, 0.3 + 0.05, 0.3 + 0.05];
    const model = xgbModel('reg:squarederror', '0E0', [TREE_A, TREE_B], [0, 0]);
    const learner = model.learner as Record<string, unknown>;
    learner.attributes = { scikit_learn: '{"max_depth": 2, "missing": -999.0, "n_estimators": 2, "_estimator_type": "regressor"}' };
    const { model: onnxModel, ensemble, report } = convertXgboost(model);
    close(Array.from(predictTrees(ensemble, rows).output), want, 1e-7);
    for (const backend of ORT_BACKENDS) close(floats((await runOnce(backend, onnxModel, rows, 4)).variable), want);
    expect(report.warnings.join(' ')).toMatch(/missing=-999/);
    // The same wrapper with missing=NaN (its default), and XGBoost 2.x's wrapper, which records only the
    // estimator type: -999 is a number like any other.
    const asNumber = [-0.2 + 0.05, 0.3 + 0.05, 0.3 + 0.05, 0.3 + 0.05];
    for (const meta of ['{"missing": NaN, "n_estimators": 2}', '{"_estimator_type": "regressor"}']) {
      learner.attributes = { scikit_learn: meta };
      const plain = convertXgboost(model);
      expect(plain.report.warnings).toEqual([]);
      close(floats((await runOnce('node', plain.model, rows, 4)).variable), asNumber);
    }
  });

  // A Booster predicting on DMatrix(X, missing=-999) records nothing: the missing option says it.
  it('the missing option reads inputs equal to it as missing (DMatrix(missing=-999)), and overrides what the 1.x wrapper recorded', async () => {
    const rows = Float32Array.from([1, -999, -999, -999, -999, 0, NaN, 1]);
    const want = [0.1 - 0.4, 0.3 - 0.4, 0.3 + 0.05, 0.3 + 0.05];
    const asNumber = [-0.2 + 0.05, 0.3 + 0.05, 0.3 + 0.05, 0.3 + 0.05];
    const model = xgbModel('reg:squarederror', '0E0', [TREE_A, TREE_B], [0, 0]);
    const given = convertXgboost(model, { missing: -999 });
    expect(given.report.warnings).toEqual([]);
    close(Array.from(predictTrees(given.ensemble, rows).output), want, 1e-7);
    for (const backend of ORT_BACKENDS) close(floats((await runOnce(backend, given.model, rows, 4)).variable), want);
    (model.learner as Record<string, unknown>).attributes = { scikit_learn: '{"missing": -999.0}' };
    const nan = convertXgboost(model, { missing: Number.NaN });
    expect(nan.report.warnings.join(' ')).toMatch(/missing=NaN as asked, not the missing=-999/);
    close(floats((await runOnce('node', nan.model, rows, 4)).variable), asNumber);
  });

  // The same 1.x wrapper, with its label encoder (use_label_encoder, the default in 1.3 to 1.5), kept
  // classes_ there too, and its predict returns classes_[argmax]: trained on labels 1 and 2, it predicts
  // 1 or 2, never the index 0 or 1.
  it('classes recorded by the 1.x scikit-learn wrapper (classes_ [1, 2]) are the labels, as its predict returns them; classes that are not integers are refused', async () => {
    const model = xgbModel('binary:logistic', '5E-1', [TREE_A, TREE_B], [0, 0]);
    const learner = model.learner as Record<string, unknown>;
    const meta = (classes: string) => ({ scikit_learn: `{"use_label_encoder": true, "missing": NaN, "classes_": ${classes}, "n_classes_": 2, "_le": "{\\"classes_\\": ${classes}}", "_estimator_type": "classifier"}` });
    const p = ROWS.map((r) => sigmoid(r.a + r.b));
    learner.attributes = meta('[1, 2]');
    const { model: onnxModel, ensemble, report } = convertXgboost(model);
    const want = p.map((q) => (q > 0.5 ? 2 : 1));
    expect(Array.from(predictTrees(ensemble, INPUT).labels ?? [])).toEqual(want);
    for (const backend of ORT_BACKENDS) {
      const out = await runOnce(backend, onnxModel, INPUT, ROWS.length);
      expect(ints(out.label)).toEqual(want);
      close(floats(out.probabilities), p.flatMap((q) => [1 - q, q]));
    }
    expect(ints((await runOnce('node', convertXgboost(model, { rawScore: true }).model, INPUT, ROWS.length)).label)).toEqual(want);
    expect(report.warnings.join(' ')).toMatch(/classes \[1, 2\]/);
    // classes_ [0, 1]: the index is the class, nothing to say.
    learner.attributes = meta('[0, 1]');
    expect(convertXgboost(model).report.warnings).toEqual([]);
    expect(ints((await runOnce('node', convertXgboost(model).model, INPUT, ROWS.length)).label)).toEqual(p.map((q) => (q > 0.5 ? 1 : 0)));
    // Strings cannot be int64 labels: refused, not labelled with indices that predict never returns.
    learner.attributes = meta('["no", "yes"]');
    try {
      convertXgboost(model);
      expect.unreachable();
    } catch (e) {
      expect(isForgeError(e, ForgeErrorCode.UNSUPPORTED_MODEL)).toBe(true);
      expect((e as { details: Record<string, unknown> }).details.feature).toBe('class labels');
    }
  });

  it('base_score forms', () => {
    expect(parseBaseScore('5E-1')).toEqual([0.5]);
    expect(parseBaseScore('[5E-1]')).toEqual([0.5]);
    expect(parseBaseScore('[1E-1,2E-1]')).toEqual([0.1, 0.2]);
    expect(parseBaseScore(0.25)).toEqual([0.25]);
    expect(() => parseBaseScore('[]')).toThrow(/base_score/);
    expect(() => parseBaseScore('abc')).toThrow(/base_score/);
  });

  // onnxmltools' XGBoost converter writes a model importing only ai.onnx.ml, which some runtimes refuse.
  it.each([
    ['binary:logistic', () => xgbModel('binary:logistic', '6E-1', [TREE_A, TREE_B], [0, 0]), {}],
    ['binary:logistic, raw score', () => xgbModel('binary:logistic', '6E-1', [TREE_A, TREE_B], [0, 0]), { rawScore: true }],
    ['reg:squarederror', () => xgbModel('reg:squarederror', '5E-1', [TREE_A, TREE_B], [0, 0]), {}],
    ['multi:softprob', () => xgbModel('multi:softprob', '5E-1', [TREE_A, TREE_B, [{ leaf: 0.7 }]], [0, 1, 2], 2, 3), {}],
  ] as const)('%s: the model imports the default ai.onnx opset and ai.onnx.ml 3, and passes the checker', (_label, make, options) => {
    const { model } = convertXgboost(make(), options);
    expect(model.proto.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([['', 17], ['ai.onnx.ml', 3]]);
    expect(checkModel(model).problems.filter((p) => p.severity === 'error')).toEqual([]);
  });

  // XGBoost's pruner (exact/approx methods with gamma > 0) leaves deleted nodes in the node arrays:
  // leaves that no split points to, split_indices 2^31 − 1, counted by tree_param.num_deleted.
  it('a tree with deleted nodes (num_deleted) converts; the deleted nodes are left out', async () => {
    const model = xgbModel('reg:squarederror', '0E0', [[...TREE_A, { leaf: 9 }, { leaf: 9 }]], [0]);
    const tree = (model.learner as { gradient_booster: { model: { trees: Record<string, unknown>[] } } }).gradient_booster.model.trees[0] as Record<string, unknown>;
    (tree.split_indices as number[]).splice(5, 2, 2147483647, 2147483647);
    (tree.default_left as number[]).splice(5, 2, 1, 1);
    (tree.tree_param as Record<string, string>).num_deleted = '2';
    const e = parseXgboost(model);
    expect(e.trees[0]?.nodes).toHaveLength(5);
    close(Array.from(predictTrees(e, INPUT).output), ROWS.map((r) => r.a), 1e-7);
    close(floats((await runOnce('node', convertXgboost(model).model, INPUT, ROWS.length)).variable), ROWS.map((r) => r.a));
    // Unreachable nodes that num_deleted does not account for still mean a damaged file.
    (tree.tree_param as Record<string, string>).num_deleted = '1';
    expect(() => parseXgboost(model)).toThrow(/not reachable/);
  });

  it('the JavaScript scorer reads inputs as float32, as XGBoost does, before comparing', () => {
    // 0.30000000000000004 reads as the float32 0.3 (0.30000001192…), which is not < the condition 0.3.
    const tree: HandNode[] = [{ split: [0, 0.3, 0, 1, 2] }, { leaf: 1 }, { leaf: 2 }];
    const e = parseXgboost(xgbModel('reg:squarederror', '0E0', [tree], [0]));
    expect(Array.from(predictTrees(e, [[0.1 + 0.2, 0], [0.29, 0]]).output)).toEqual([2, 1]);
    expect(Array.from(predictTrees(e, Float64Array.from([0.1 + 0.2, 0])).output)).toEqual([2]);
  });

  it('JSON text starting with a byte-order mark converts, with and without --from', () => {
    const text = `\uFEFF${JSON.stringify(xgbModel('reg:squarederror', '5E-1', [TREE_B], [0]))}`;
    expect(convertModel(text).report.format).toBe('xgboost');
    expect(convertXgboost(text).report.trees).toBe(1);
  });

  it('format detection finds XGBoost JSON by its "learner"', () => {
    const text = JSON.stringify(xgbModel('reg:squarederror', '5E-1', [TREE_B], [0]));
    expect(convertModel(text).report).toMatchObject({ format: 'xgboost', objective: 'reg:squarederror', trees: 1, features: 2, classes: undefined });
  });
});

describe('XGBoost models that are refused', () => {
  const fail = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      if (isForgeError(e)) return e;
      throw e;
    }
    throw new Error('expected a ForgeError');
  };

  it('a categorical split: FORGE_UNSUPPORTED_MODEL "categorical split"', () => {
    const cat: HandNode[] = [{ split: [1, 0, 0, 1, 2], categorical: true }, { leaf: 1 }, { leaf: 2 }];
    const e = fail(() => convertXgboost(xgbModel('binary:logistic', '5E-1', [TREE_A, cat], [0, 0])));
    expect(e.code).toBe(ForgeErrorCode.UNSUPPORTED_MODEL);
    expect(e.details).toMatchObject({ feature: 'categorical split', tree: 1, node: 0 });
  });

  it('an unknown objective: FORGE_UNSUPPORTED_MODEL naming it', () => {
    const e = fail(() => convertXgboost(xgbModel('rank:pairwise', '5E-1', [TREE_A], [0])));
    expect(e.code).toBe(ForgeErrorCode.UNSUPPORTED_MODEL);
    expect(e.message).toContain('"rank:pairwise"');
  });

  it('JSON that is no model: FORGE_INVALID_MODEL', () => {
    for (const input of ['{"hello": "world"}', '[1, 2, 3]', '{"learner": {}}', '{"learner": {"objective": {"name": "binary:logistic"}', 'not json at all']) {
      expect(fail(() => convertModel(input)).code, input).toBe(ForgeErrorCode.INVALID_MODEL);
    }
    expect(fail(() => convertXgboost({ learner: { objective: { name: 'reg:squarederror' } } })).code).toBe(ForgeErrorCode.INVALID_MODEL);
  });

  it('inconsistent arrays: FORGE_INVALID_MODEL', () => {
    const model = xgbModel('reg:squarederror', '5E-1', [TREE_A], [0]);
    const tree = ((model.learner as { gradient_booster: { model: { trees: Record<string, unknown>[] } } }).gradient_booster.model.trees[0]) as Record<string, unknown>;
    tree.left_children = [1, -1];
    expect(fail(() => convertXgboost(model)).code).toBe(ForgeErrorCode.INVALID_MODEL);
  });
});
