import { ForgeErrorCode, isForgeError } from '@onnx-forge/core';
import { DecisionTreeClassifier, DecisionTreeRegression } from 'ml-cart';
import { RandomForestClassifier, RandomForestRegression } from 'ml-random-forest';
import { describe, expect, it } from 'vitest';
import { convertMljs } from '../convert-model.js';
import { classLabels, regressionTargets, seededRows, toInput } from '../testing/mljs-data.js';
import { runOnce } from '../testing/ort.js';
import { mljsBackend, type BackendFeed, type MljsModelLike } from './mljs-backend.js';

/*
 * The backend must be a drop-in for the converted model: same output names, dims and types, and the
 * same values as onnxruntime-node gives for the ONNX form (exactly for labels and probabilities; the
 * forest mean to float32 rounding, as the ONNX model sums its trees in float32).
 */
const train = seededRows(21, 200, 4);
const heldOut = seededRows(22, 120, 4, 0.05);
const input = toInput(heldOut);
const feeds = { input: { type: 'float32', dims: [heldOut.length, 4], data: input } };

async function compare(model: MljsModelLike, exact: boolean): Promise<void> {
  // A CART tree need not read the last column; mljs's JSON does not record the training width.
  const backend = mljsBackend('mljs', model, { numFeatures: 4 });
  const got = await backend.predict(feeds);
  const onnx = await runOnce('node', convertMljs(model, { numFeatures: 4 }).model, input, heldOut.length);
  expect(Object.keys(got).sort()).toEqual(Object.keys(onnx).sort());
  for (const [name, want] of Object.entries(onnx)) {
    const g = got[name];
    expect(g?.type, name).toBe(want.type);
    expect(g?.dims, name).toEqual(want.dims);
    expect(g?.data.constructor, name).toBe(want.data.constructor);
    if (exact || want.data instanceof BigInt64Array) expect(g?.data, name).toEqual(want.data);
    else (want.data as Float32Array).forEach((w, i) => expect(Math.abs(((g?.data as Float32Array)[i] as number) - w)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(w))));
  }
  await backend.dispose();
}

describe('mljsBackend', () => {
  it('RandomForestClassifier: label (int64) and probabilities (float32) equal the ONNX model\'s', async () => {
    const forest = new RandomForestClassifier({ nEstimators: 10, maxFeatures: 0.75, seed: 3, noOOB: true, treeOptions: { maxDepth: 5 } });
    forest.train(train, classLabels(23, train));
    await compare(forest, true);
  });

  it('RandomForestRegression: variable [N, 1] equals the ONNX model\'s to float32 rounding', async () => {
    const forest = new RandomForestRegression({ nEstimators: 8, seed: 3, noOOB: true, treeOptions: { maxDepth: 5 } });
    forest.train(train, regressionTargets(24, train));
    await compare(forest, false);
  });

  it('DecisionTreeClassifier and DecisionTreeRegression', async () => {
    const c = new DecisionTreeClassifier({ maxDepth: 6 });
    c.train(train, classLabels(23, train));
    await compare(c, true);
    const r = new DecisionTreeRegression({ maxDepth: 6 });
    r.train(train, regressionTargets(24, train));
    await compare(r, true);
  });

  it('warms up, reports a size, rejects bad feeds with FORGE_BAD_INPUT, and refuses work once disposed', async () => {
    const tree = new DecisionTreeRegression({ maxDepth: 3 });
    tree.train(train, regressionTargets(24, train));
    const backend = mljsBackend('cart', tree, { inputName: 'x', numFeatures: 4 });
    expect(backend.name).toBe('cart');
    expect(backend.sizeBytes).toBeGreaterThan(100);
    await backend.warmup?.();
    // The forms @onnx-forge/runtime's feeds allow: { data, dims } and a bare typed array of whole rows.
    const row = new Float32Array([0.5, -1, 1, 0.25]);
    const want = (await backend.predict({ x: { type: 'float32', dims: [1, 4], data: row } })).variable?.data;
    expect((await backend.predict({ x: { data: row, dims: [1, 4] } })).variable?.data).toEqual(want);
    expect((await backend.predict({ x: row })).variable?.data).toEqual(want);
    const bad: Record<string, BackendFeed>[] = [
      {},
      { x: new Int32Array(4) },
      { x: { type: 'int64', dims: [1, 4], data: new BigInt64Array(4) } },
      { x: { type: 'float32', dims: [2, 3], data: new Float32Array(6) } },
    ];
    for (const f of bad) {
      await expect(backend.predict(f)).rejects.toSatisfy((e: unknown) => isForgeError(e, ForgeErrorCode.BAD_INPUT));
    }
    const empty = await backend.predict({ x: { type: 'float32', dims: [0, 4], data: new Float32Array(0) } });
    expect(empty.variable?.dims).toEqual([0, 1]);
    await backend.dispose();
    await expect(backend.predict({ x: { type: 'float32', dims: [1, 4], data: new Float32Array(4) } })).rejects.toThrow(/disposed/);
  });

  it('needs the live model, not its JSON', () => {
    const tree = new DecisionTreeRegression({ maxDepth: 2 });
    tree.train(train, regressionTargets(24, train));
    expect(() => mljsBackend('json', tree.toJSON() as unknown as MljsModelLike)).toThrow(/trained mljs model/);
  });
});
