import { ForgeErrorCode, checkModel, isForgeError } from '@onnx-forge/core';
import { describe, expect, it } from 'vitest';
import { convertLightGbm, convertModel } from './convert-model.js';
import { parseLightGbm } from './parse-lightgbm.js';
import { predictTrees } from './predict-trees.js';
import { lightgbmText, type LgbModel } from './testing/lightgbm-text.js';
import { ORT_BACKENDS, floats, ints, runOnce } from './testing/ort.js';

const ZERO_DEFAULT_LEFT = 0b0110; // missing type Zero (1 << 2) | default_left
const ZERO_DEFAULT_RIGHT = 0b0100;
const NONE_DEFAULT_LEFT = 0b0010; // missing type None: the default_left bit is ignored, NaN is read as 0
const NAN_DEFAULT_RIGHT = 0b1000;
const K_ZERO = Math.fround(1e-35);
const BELOW_0_1 = Math.fround(0.09999999403953552); // the float32 just below 0.1

/*
 * Five trees over two features whose leaf values are distinct powers of ten, so the sum spells out
 * the leaf each tree chose. Expected sums are worked out by hand from LightGBM's NumericalDecision
 * (NaN read as 0 unless the missing type is NaN; Zero: 0 goes the default way; NaN: NaN does) and its
 * predictor, which reads |x| <= 1e-35f as 0.
 */
const MISSING: LgbModel = {
  objective: 'regression',
  features: 2,
  trees: [
    // T0: f0 <= -0.5, zero-as-missing, default left: leaves 1 | 2
    { split_feature: [0], threshold: [-0.5], decision_type: [ZERO_DEFAULT_LEFT], left_child: [-1], right_child: [-2], leaf_value: [1, 2] },
    // T1: f1 <= 0.5, zero-as-missing, default right: 10 | 20
    { split_feature: [1], threshold: [0.5], decision_type: [ZERO_DEFAULT_RIGHT], left_child: [-1], right_child: [-2], leaf_value: [10, 20] },
    // T2: f0 <= 0.5 (zero, default right) -> left 100 | right: f1 <= -0.5 (zero, default left) -> 200 | 300
    {
      split_feature: [0, 1], threshold: [0.5, -0.5], decision_type: [ZERO_DEFAULT_RIGHT, ZERO_DEFAULT_LEFT],
      left_child: [-1, -2], right_child: [1, -3], leaf_value: [100, 200, 300],
    },
    // T3: f0 <= -0.25, missing None: 1000 | 2000
    { split_feature: [0], threshold: [-0.25], decision_type: [NONE_DEFAULT_LEFT], left_child: [-1], right_child: [-2], leaf_value: [1000, 2000] },
    // T4: f1 <= 0.1 (a double between two float32 values), missing NaN, default right: 10000 | 20000
    { split_feature: [1], threshold: [0.1], decision_type: [NAN_DEFAULT_RIGHT], left_child: [-1], right_child: [-2], leaf_value: [10000, 20000] },
  ],
};

const MISSING_ROWS: [number, number, number][] = [
  // [f0, f1, expected]                 T0  T1   T2    T3     T4
  [0, 0, 12221], //                      1 + 20 + 200 + 2000 + 10000 (zeros take the defaults; None compares 0)
  [NaN, NaN, 22221], //                  1 + 20 + 200 + 2000 + 20000 (NaN: like 0 for Zero/None, default for NaN)
  [-1, 0.25, 21111], //                  1 + 10 + 100 + 1000 + 20000
  [-0.3, 1, 21122], //                   2 + 20 + 100 + 1000 + 20000
  [1e-36, -1e-36, 12221], //             tiny values are read as 0: as the first row
  [K_ZERO, -K_ZERO, 12221], //           |x| = 1e-35f is still read as 0
  [2e-35, -2e-35, 12112], //             2 + 10 + 100 + 2000 + 10000: no longer zero, compared
  [2, -2, 12212], //                     2 + 10 + 200 + 2000 + 10000
  [2, -0.2, 12312], //                   2 + 10 + 300 + 2000 + 10000
  [-0, Math.fround(0.1), 22311], //      1 + 10 + 300 + 2000 + 20000 (fround(0.1) > 0.1 goes right)
  [-0.25, BELOW_0_1, 11112], //          2 + 10 + 100 + 1000 + 10000
];

function relClose(got: number, want: number, rel = 1e-6): void {
  expect(Math.abs(got - want)).toBeLessThanOrEqual(rel * Math.abs(want));
}

describe('LightGBM missing values', () => {
  const text = lightgbmText(MISSING);
  const input = Float32Array.from(MISSING_ROWS.flatMap(([a, b]) => [a, b]));
  const expected = MISSING_ROWS.map((r) => r[2]);

  it('the JavaScript scorer follows LightGBM', () => {
    const ensemble = parseLightGbm(text);
    expect(Array.from(predictTrees(ensemble, input).output)).toEqual(expected);
  });

  for (const backend of ORT_BACKENDS) {
    it(`onnxruntime-${backend}: zero-as-missing, NaN as 0, NaN default and double thresholds decide as LightGBM`, async () => {
      const { model } = convertLightGbm(text);
      const out = await runOnce(backend, model, input, MISSING_ROWS.length);
      expect(floats(out.variable)).toEqual(expected);
    });
  }

  it('zero-as-missing splits become BRANCH_EQ 0 (NaN tracked) before the comparison, sharing the default child', () => {
    const { model } = convertLightGbm(text);
    const node = model.proto.graph?.node.find((n) => n.opType === 'TreeEnsembleRegressor');
    const get = (name: string) => node?.attribute.find((a) => a.name === name);
    const ints = (name: string) => (get(name)?.ints ?? []).map(Number);
    const modes = get('nodes_modes')?.strings.map((s) => new TextDecoder().decode(s));
    // Tree 0 (default left): EQ (id 0) true -> leaf 1 (the default), false -> the comparison S (id 3),
    // whose true branch is leaf 1 again. Tree 1 (default right): S is written as > so the default
    // (right) child is again its true branch.
    expect(modes?.slice(0, 8)).toEqual(['BRANCH_EQ', 'BRANCH_LEQ', 'LEAF', 'LEAF', 'BRANCH_EQ', 'BRANCH_GT', 'LEAF', 'LEAF']);
    expect(ints('nodes_nodeids').slice(0, 4)).toEqual([0, 3, 1, 2]);
    expect(ints('nodes_truenodeids').slice(0, 2)).toEqual([1, 1]);
    expect(ints('nodes_falsenodeids').slice(0, 2)).toEqual([3, 2]);
    expect(ints('nodes_missing_value_tracks_true').slice(0, 2)).toEqual([1, 1]);
    expect(ints('nodes_truenodeids').slice(4, 6)).toEqual([2, 2]);
    expect(ints('nodes_falsenodeids').slice(4, 6)).toEqual([3, 1]);
  });

  it('a threshold is rounded towards the comparison, not to the nearest float32', () => {
    const { model } = convertLightGbm(text);
    const node = model.proto.graph?.node.find((n) => n.opType === 'TreeEnsembleRegressor');
    const values = node?.attribute.find((a) => a.name === 'nodes_values')?.floats ?? [];
    expect(values).toContain(BELOW_0_1);
    expect(values).not.toContain(Math.fround(0.1));
  });
});

/** One split per tree or constant trees, with outputs worked out from LightGBM's ConvertOutput. */
describe('LightGBM objectives', () => {
  const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
  const single = (values: number[]): LgbModel['trees'] => values.map((v) => ({ leaf_value: [v] }));
  const rows = new Float32Array([0.5, -1]); // one row; constant trees ignore it

  const regression: [string, LgbModel, number][] = [
    ['regression_l1', { objective: 'regression_l1', features: 2, trees: single([0.5, 0.25]) }, 0.75],
    ['regression sqrt (predict squares back, keeping the sign)', { objective: 'regression sqrt', features: 2, trees: single([-1.5, 0.25]) }, -1.5625],
    ['poisson (exp)', { objective: 'poisson', features: 2, trees: single([0.5, 0.25]) }, Math.exp(0.75)],
    ['tweedie (exp)', { objective: 'tweedie', features: 2, trees: single([-0.5]) }, Math.exp(-0.5)],
    ['cross_entropy (sigmoid)', { objective: 'cross_entropy', features: 2, trees: single([0.5, 0.25]) }, sigmoid(0.75)],
    ['random-forest mode averages the iterations', { objective: 'regression', features: 2, averageOutput: true, trees: single([4, 7]) }, 5.5],
  ];
  for (const [name, m, want] of regression) {
    it(`${name}: variable = ${want.toPrecision(6)}; rawScore gives the sum`, async () => {
      const text = lightgbmText(m);
      relClose(floats((await runOnce('node', convertLightGbm(text).model, rows, 1)).variable)[0] as number, want);
      relClose(predictTrees(parseLightGbm(text), rows).output[0] as number, want, 1e-12);
      const rawSum = m.trees.reduce((s, t) => s + (t.leaf_value[0] as number), 0) / (m.averageOutput ? m.trees.length : 1);
      relClose(floats((await runOnce('node', convertLightGbm(text, { rawScore: true }).model, rows, 1)).variable)[0] as number, rawSum);
    });
  }

  it('binary sigmoid:2 gives [1 − p, p] with p = 1 / (1 + exp(−2·raw))', async () => {
    const text = lightgbmText({ objective: 'binary sigmoid:2', features: 2, trees: single([0.25, -0.5]) });
    const p = sigmoid(2 * -0.25);
    const out = await runOnce('node', convertLightGbm(text).model, rows, 1);
    const [q0, q1] = floats(out.probabilities);
    relClose(q1 as number, p);
    relClose(q0 as number, 1 - p);
    expect(ints(out.label)).toEqual([0]);
  });

  for (const backend of ORT_BACKENDS) {
    it(`binary probabilities keep their relative precision near 0 and 1 on onnxruntime-${backend} (its Sigmoid does not)`, async () => {
      // f0 <= 0 ? -20 : 15 (margins whose probabilities are 2.1e-9 and 1 − 3.1e-7).
      const text = lightgbmText({
        objective: 'binary sigmoid:1', features: 1,
        trees: [{ split_feature: [0], threshold: [0], decision_type: [2], left_child: [-1], right_child: [-2], leaf_value: [-20, 15] }],
      });
      const out = await runOnce(backend, convertLightGbm(text).model, new Float32Array([-1, 1]), 2);
      const want = [1 - sigmoid(-20), sigmoid(-20), sigmoid(-15), sigmoid(15)];
      floats(out.probabilities).forEach((v, i) => relClose(v, want[i] as number, 1e-6));
      expect(ints(out.label)).toEqual([0, 1]);
    });
  }

  it('multiclass num_class:3 applies softmax per row; class k is every 3rd tree from k', async () => {
    const text = lightgbmText({ objective: 'multiclass num_class:3', numClass: 3, features: 2, trees: single([0.1, 0.9, -0.5, 0.2, -0.1, 0.1]) });
    const z = [0.1 + 0.2, 0.9 - 0.1, -0.5 + 0.1];
    const e = z.map(Math.exp);
    const sum = e.reduce((a, b) => a + b);
    const out = await runOnce('node', convertLightGbm(text).model, rows, 1);
    floats(out.probabilities).forEach((v, k) => relClose(v, (e[k] as number) / sum));
    expect(ints(out.label)).toEqual([1]);
    const raw = await runOnce('node', convertLightGbm(text, { rawScore: true }).model, rows, 1);
    floats(raw.raw_score).forEach((v, k) => relClose(v, z[k] as number));
    expect(ints(raw.label)).toEqual([1]);
  });

  it('multiclassova sigmoid:1.5 gives one sigmoid per class, not normalised', async () => {
    const text = lightgbmText({ objective: 'multiclassova num_class:3 sigmoid:1.5', numClass: 3, features: 2, trees: single([0.4, -0.2, 1.0]) });
    const out = await runOnce('node', convertLightGbm(text).model, rows, 1);
    floats(out.probabilities).forEach((v, k) => relClose(v, sigmoid(1.5 * ([0.4, -0.2, 1.0][k] as number))));
    expect(ints(out.label)).toEqual([2]);
  });

  it('the model imports the default ai.onnx opset and ai.onnx.ml 3, and passes the checker', () => {
    const { model } = convertLightGbm(lightgbmText(MISSING));
    expect(model.proto.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([['', 17], ['ai.onnx.ml', 3]]);
    expect(checkModel(model).problems.filter((p) => p.severity === 'error')).toEqual([]);
  });
});

describe('LightGBM models that are refused', () => {
  const base: LgbModel = { objective: 'binary sigmoid:1', features: 3, trees: MISSING.trees.slice(0, 3) };
  const code = (f: () => unknown): { code: string; message: string; details: Record<string, unknown> } => {
    try {
      f();
    } catch (e) {
      if (isForgeError(e)) return { code: e.code, message: e.message, details: e.details };
      throw e;
    }
    throw new Error('expected a ForgeError');
  };

  it('a truncated file: FORGE_INVALID_MODEL saying it looks truncated, wherever it is cut', () => {
    const text = lightgbmText(base);
    for (const cut of [0.3, 0.5, 0.62, 0.8, text.indexOf('end of trees')]) {
      const at = cut < 1 ? Math.floor(text.length * cut) : cut;
      const e = code(() => convertModel(text.slice(0, at)));
      expect(e.code, `cut at ${at}`).toBe(ForgeErrorCode.INVALID_MODEL);
      expect(e.message).toMatch(/truncated|damaged/);
    }
  });

  it('a file cut inside its header is truncated (FORGE_INVALID_MODEL), not a model with a missing or unknown objective', () => {
    const text = lightgbmText(base);
    const objective = text.indexOf('objective=');
    // Before the objective line, just after "objective=", and inside its value ("objective=binary sig").
    for (const at of [5, objective - 1, objective + 'objective='.length, objective + 'objective=bin'.length, objective + 'objective=binary sig'.length, text.indexOf('Tree=0')]) {
      const e = code(() => convertModel(text.slice(0, at)));
      expect(e.code, `cut at ${at}: ${e.message}`).toBe(ForgeErrorCode.INVALID_MODEL);
      expect(e.message, `cut at ${at}`).toMatch(/truncated/);
    }
  });

  it('an unknown objective: FORGE_UNSUPPORTED_MODEL naming it', () => {
    const e = code(() => convertLightGbm(lightgbmText({ ...base, objective: 'lambdarank' })));
    expect(e).toMatchObject({ code: ForgeErrorCode.UNSUPPORTED_MODEL, details: { feature: 'objective', objective: 'lambdarank' } });
    expect(e.message).toContain('"lambdarank"');
    expect(code(() => convertLightGbm(lightgbmText({ ...base, objective: null }))).code).toBe(ForgeErrorCode.UNSUPPORTED_MODEL);
  });

  it('a categorical split: FORGE_UNSUPPORTED_MODEL "categorical split"', () => {
    const trees = [...base.trees, { split_feature: [2], threshold: [0], decision_type: [1], left_child: [-1], right_child: [-2], leaf_value: [0.1, 0.2] }];
    const e = code(() => convertLightGbm(lightgbmText({ ...base, trees })));
    expect(e).toMatchObject({ code: ForgeErrorCode.UNSUPPORTED_MODEL, details: { feature: 'categorical split', tree: 3, node: 0 } });
    expect(e.message).toContain('categorical split');
  });

  it('linear trees: FORGE_UNSUPPORTED_MODEL "linear trees"', () => {
    const trees = [...base.trees.slice(0, 1), { ...(base.trees[1] as LgbModel['trees'][number]), is_linear: 1 as const }];
    const e = code(() => convertLightGbm(lightgbmText({ ...base, trees })));
    expect(e).toMatchObject({ code: ForgeErrorCode.UNSUPPORTED_MODEL, details: { feature: 'linear trees', tree: 1 } });
    expect(e.message).toContain('linear_tree=false');
  });

  it('a child index that makes no tree: FORGE_INVALID_MODEL', () => {
    const trees = [{ split_feature: [0, 1], threshold: [0, 0], decision_type: [2, 2], left_child: [1, 0], right_child: [-1, -2], leaf_value: [1, 2, 3] }];
    expect(code(() => convertLightGbm(lightgbmText({ ...base, trees }))).code).toBe(ForgeErrorCode.INVALID_MODEL);
  });
});
