import { ForgeErrorCode, isForgeError } from '@onnx-forge/core';
import { DecisionTreeClassifier, DecisionTreeRegression } from 'ml-cart';
import { RandomForestClassifier, RandomForestRegression } from 'ml-random-forest';
import { beforeAll, describe, expect, it } from 'vitest';
import { convertMljs, convertModel } from './convert-model.js';
import { parseMljs } from './parse-mljs.js';
import { predictTrees } from './predict-trees.js';
import { classLabels, regressionTargets, seededRows, toInput } from './testing/mljs-data.js';
import { floats, ints, runOnce } from './testing/ort.js';

/*
 * mljs forests and CART trees trained here on seeded data (ml-random-forest 2.1.0, ml-cart 2.1.1),
 * converted, and run in onnxruntime-node on held-out rows (5 % of their values NaN, which mljs sends
 * right like every value that is not < the split value).
 */
const FEATURES = 5;
const train = seededRows(1, 240, FEATURES);
const heldOut = seededRows(2, 200, FEATURES, 0.05);
const input = toInput(heldOut);

function relClose(got: readonly number[], want: readonly number[], rel: number): void {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(Math.abs(g - (want[i] as number)), `row ${i}: ${g} vs ${want[i]}`).toBeLessThanOrEqual(rel * Math.max(1, Math.abs(want[i] as number))));
}

/** Vote shares of a forest's trees per row, from mljs's own per-tree predictions. */
function voteShares(forest: RandomForestClassifier, rows: number[][], classes: number): number[] {
  const votes = forest.predictionValues(rows);
  return rows.flatMap((_, r) => {
    const counts = new Array<number>(classes).fill(0);
    for (let t = 0; t < votes.columns; t++) counts[votes.get(r, t)] = (counts[votes.get(r, t)] ?? 0) + 1;
    return counts.map((c) => Math.fround(c / votes.columns));
  });
}

describe('mljs RandomForestClassifier', () => {
  let forest: RandomForestClassifier;
  beforeAll(() => {
    // maxFeatures 0.6: every tree sees 3 of the 5 columns, drawn with replacement (mljs's default).
    forest = new RandomForestClassifier({ nEstimators: 16, maxFeatures: 0.6, seed: 11, noOOB: true, treeOptions: { maxDepth: 6 } });
    forest.train(train, classLabels(3, train));
  });

  it('onnxruntime-node gives mljs predict() on held-out rows, ties included, and the vote shares', async () => {
    const { model, report } = convertMljs(forest);
    expect(report).toMatchObject({ format: 'mljs', objective: 'RFClassifier', trees: 16, classes: 3 });
    const out = await runOnce('node', model, input, heldOut.length);
    const want = forest.predict(heldOut);
    expect(ints(out.label)).toEqual(want);
    expect(floats(out.probabilities)).toEqual(voteShares(forest, heldOut, 3));
    // Rows where two classes share the most votes exercise mljs's tie-break (first to reach the count).
    const shares = floats(out.probabilities);
    const ties = heldOut.filter((_, r) => {
      const row = shares.slice(r * 3, r * 3 + 3);
      const max = Math.max(...row);
      return row.filter((v) => v === max).length > 1;
    }).length;
    expect(ties).toBeGreaterThan(0);
  });

  it('feature bagging maps each tree\'s columns to input features', () => {
    const json = forest.toJSON() as { baseModel: { indexes: number[][] } };
    const ensemble = parseMljs(forest);
    expect(ensemble.numFeatures).toBe(Math.max(...json.baseModel.indexes.flat()) + 1);
    expect(json.baseModel.indexes.some((cols) => cols.some((c, i) => c !== i))).toBe(true);
    expect(Array.from(predictTrees(ensemble, input).labels ?? [])).toEqual(forest.predict(heldOut));
  });

  it('the same model from toJSON(), JSON text or the live object converts alike', async () => {
    const a = await runOnce('node', convertMljs(forest).model, input, heldOut.length);
    const b = await runOnce('node', convertModel(JSON.stringify(forest.toJSON())).model, input, heldOut.length);
    const c = await runOnce('node', convertModel(JSON.parse(JSON.stringify(forest)) as object).model, input, heldOut.length);
    expect(ints(b.label)).toEqual(ints(a.label));
    expect(ints(c.label)).toEqual(ints(a.label));
  });

  it('JSON text written with a byte-order mark converts too', () => {
    const text = `\uFEFF${JSON.stringify(forest.toJSON())}`;
    expect(convertMljs(text).report.trees).toBe(16);
    expect(convertModel(text).report.format).toBe('mljs');
  });
});

describe('a wide forest', () => {
  // 200 trees over 1000 columns, each tree reading all of them (maxFeatures 1.0): 200,000 column
  // indexes, which Math.max(...indexes) could not take as arguments (a RangeError, no ForgeError).
  const TREES = 200;
  const COLUMNS = 1000;
  const leaf = (c: number) => ({ distribution: [c === 0 ? [1, 0] : [0, 1]] });
  const treeOptions = { kind: 'classifier', gainFunction: 'gini', splitFunction: 'mean', minNumSamples: 3, maxDepth: Infinity };
  const json = {
    name: 'RFClassifier',
    baseModel: {
      indexes: Array.from({ length: TREES }, () => Array.from({ length: COLUMNS }, (_, j) => j)),
      n: 1, replacement: false, maxFeatures: 1, nEstimators: TREES, treeOptions: {}, isClassifier: true, seed: 1, useSampleBagging: false,
      // Tree i: column 7i mod 1000 < 0.5 ? class 0 : class 1.
      estimators: Array.from({ length: TREES }, (_, i) => ({ options: treeOptions, name: 'DTClassifier', root: { splitColumn: (i * 7) % COLUMNS, splitValue: 0.5, left: leaf(0), right: leaf(1) } })),
    },
  };

  it('converts, and onnxruntime-node gives what mljs predicts', async () => {
    const rows = [
      new Array<number>(COLUMNS).fill(0),
      new Array<number>(COLUMNS).fill(1),
      Array.from({ length: COLUMNS }, (_, j) => j % 2), // the trees split 100 / 100: mljs's tie-break
      Array.from({ length: COLUMNS }, (_, j) => (j < 300 ? 1 : 0)),
    ];
    const { model, report } = convertModel(JSON.stringify(json));
    expect(report).toMatchObject({ features: COLUMNS, trees: TREES, classes: 2 });
    const out = await runOnce('node', model, toInput(rows), rows.length);
    // The JSON is what toJSON() writes; the typings ask for more than load() reads.
    const forest = RandomForestClassifier.load(json as unknown as Parameters<typeof RandomForestClassifier.load>[0]);
    expect(ints(out.label)).toEqual(forest.predict(rows));
  });
});

describe('mljs vote tie-break, by hand', () => {
  // Four stumps on feature 0 (x < 0 left). For x = -1 the trees vote 1, 0, 0, 1; for x = 1 they vote
  // 0, 1, 1, 0. Both are 2–2 ties. ml-array-mode keeps the class that first reached the count: 0 for
  // x = -1 (its second vote comes at tree 3, class 1's at tree 4), 1 for x = 1. An argmax over vote
  // counts would answer 0 both times.
  const stump = (left: number, right: number) => ({
    name: 'DTClassifier',
    options: { gainFunction: 'gini', splitFunction: 'mean', minNumSamples: 3, maxDepth: 10, gainThreshold: 0.01, kind: 'classifier' },
    root: {
      splitValue: 0, splitColumn: 0, gain: 0.5,
      left: { distribution: [left === 0 ? [1, 0] : [0, 1]] },
      right: { distribution: [right === 0 ? [1, 0] : [0, 1]] },
    },
  });
  const json = {
    name: 'RFClassifier',
    baseModel: {
      indexes: [[0], [0], [0], [0]], n: 1, replacement: false, maxFeatures: 1, nEstimators: 4, treeOptions: {}, isClassifier: true, seed: 1, useSampleBagging: false,
      estimators: [stump(1, 0), stump(0, 1), stump(0, 1), stump(1, 0)],
    },
  };

  it('mljs itself answers [0, 1]; so do the converted model and the scorer', async () => {
    const rows = [[-1], [1]];
    expect(RandomForestClassifier.load(json as never).predict(rows)).toEqual([0, 1]);
    const out = await runOnce('node', convertMljs(json).model, new Float32Array([-1, 1]), 2);
    expect(ints(out.label)).toEqual([0, 1]);
    expect(floats(out.probabilities)).toEqual([0.5, 0.5, 0.5, 0.5]);
    expect(Array.from(predictTrees(parseMljs(json), new Float32Array([-1, 1])).labels ?? [])).toEqual([0, 1]);
  });
});

describe('mljs RandomForestRegression', () => {
  it('onnxruntime-node gives mljs predict() (the mean of the trees) within 1e-6', async () => {
    const forest = new RandomForestRegression({ nEstimators: 12, maxFeatures: 0.8, seed: 5, noOOB: true, treeOptions: { maxDepth: 5 } });
    forest.train(train, regressionTargets(4, train));
    const out = await runOnce('node', convertMljs(forest).model, input, heldOut.length);
    expect(out.variable?.dims).toEqual([heldOut.length, 1]);
    relClose(floats(out.variable), forest.predict(heldOut), 1e-6);
  });

  it('a median forest is refused: the median of trees is no sum of leaves', () => {
    const forest = new RandomForestRegression({ nEstimators: 3, seed: 5, noOOB: true, selectionMethod: 'median', treeOptions: { maxDepth: 2 } });
    forest.train(train.slice(0, 60), regressionTargets(4, train.slice(0, 60)));
    try {
      convertMljs(forest);
      expect.unreachable();
    } catch (e) {
      expect(isForgeError(e, ForgeErrorCode.UNSUPPORTED_MODEL)).toBe(true);
      expect((e as Error).message).toContain("selectionMethod: 'mean'");
    }
  });
});

describe('mljs CART trees', () => {
  it('DecisionTreeClassifier: labels equal mljs predict(); probabilities are the leaf frequencies', async () => {
    const tree = new DecisionTreeClassifier({ maxDepth: 7 });
    tree.train(train, classLabels(3, train));
    const out = await runOnce('node', convertMljs(tree).model, input, heldOut.length);
    expect(ints(out.label)).toEqual(tree.predict(heldOut));
    const probs = floats(out.probabilities);
    heldOut.forEach((row, r) => {
      const d = tree.root.classify(row) as { getRow(i: number): number[] };
      const want = [0, 1, 2].map((k) => Math.fround(d.getRow(0)[k] ?? 0));
      expect(probs.slice(r * 3, r * 3 + 3)).toEqual(want);
    });
  });

  it('DecisionTreeRegression: values equal mljs predict()', async () => {
    const tree = new DecisionTreeRegression({ maxDepth: 6 });
    tree.train(train, regressionTargets(4, train));
    const out = await runOnce('node', convertMljs(tree).model, input, heldOut.length);
    expect(floats(out.variable)).toEqual(tree.predict(heldOut).map(Math.fround));
  });
});

describe('mljs input that is refused', () => {
  it('rawScore: mljs models have no margins (FORGE_INVALID_OPTIONS)', () => {
    const tree = new DecisionTreeRegression({ maxDepth: 2 });
    tree.train(train.slice(0, 30), regressionTargets(4, train.slice(0, 30)));
    expect(() => convertMljs(tree, { rawScore: true })).toThrow(/no raw margins/);
  });

  it('an object that is no model, or a damaged one: FORGE_INVALID_MODEL', () => {
    for (const bad of [{ name: 'KNN' }, { name: 'RFClassifier', baseModel: { estimators: [], indexes: [] } }, { name: 'DTRegression', root: { splitColumn: 0 } }]) {
      try {
        convertModel(bad, { from: 'mljs' });
        expect.unreachable();
      } catch (e) {
        expect(isForgeError(e, ForgeErrorCode.INVALID_MODEL), JSON.stringify(bad)).toBe(true);
      }
    }
    expect(() => convertModel({ name: 'KNN' })).toThrow(/not a model this converter reads/);
  });

  it('numFeatures below what the trees read is refused as a bad option (FORGE_INVALID_OPTIONS); above it widens the input', () => {
    const tree = new DecisionTreeRegression({ maxDepth: 3 });
    tree.train(train, regressionTargets(4, train));
    const used = parseMljs(tree).numFeatures;
    expect(() => convertMljs(tree, { numFeatures: used - 1 })).toThrow(
      expect.objectContaining({ code: ForgeErrorCode.INVALID_OPTIONS, message: expect.stringMatching(/^numFeatures \d+ is smaller than/), details: expect.objectContaining({ option: 'numFeatures', required: used }) }),
    );
    expect(() => convertMljs(tree, { numFeatures: used + 0.5 })).toThrow(expect.objectContaining({ code: ForgeErrorCode.INVALID_OPTIONS, message: expect.stringMatching(/whole number/) }));
    expect(convertMljs(tree, { numFeatures: used + 3 }).report.features).toBe(used + 3);
  });
});
