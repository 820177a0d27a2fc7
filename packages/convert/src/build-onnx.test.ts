import { DataType, ForgeErrorCode, ModelBuilder, createTensor, isForgeError } from '@onnx-forge/core';
import { describe, expect, it } from 'vitest';
import { MAX_TREE_DEPTH, WEB_TREE_DEPTH } from './build-onnx.js';
import { convertLightGbm } from './convert-model.js';
import { lightgbmText } from './testing/lightgbm-text.js';
import { ORT_BACKENDS, floats, runOnce } from './testing/ort.js';

/*
 * The facts behind the operator choice in build-onnx.ts, pinned so an onnxruntime upgrade that changes
 * them shows up here: both onnxruntime builds run TreeEnsemble (ai.onnx.ml opset 5) as well as the
 * TreeEnsembleRegressor (opset 3) the converter emits.
 */
describe('operator choice', () => {
  for (const backend of ORT_BACKENDS) {
    it(`onnxruntime-${backend} also runs TreeEnsemble from ai.onnx.ml opset 5`, async () => {
      // One tree: x <= 0.5 ? 1 : 2, NaN not tracked (false branch).
      const b = new ModelBuilder({ opset: 21, opsets: { 'ai.onnx.ml': 5 } });
      const x = b.input('input', 'float32', ['N', 1]);
      const y = b.op('TreeEnsemble', [x], {
        n_targets: 1, aggregate_function: 1, post_transform: 0, tree_roots: [0], nodes_featureids: [0],
        nodes_modes: createTensor('modes', DataType.UINT8, [1], new Uint8Array([0])),
        nodes_splits: createTensor('splits', DataType.FLOAT, [1], new Float32Array([0.5])),
        nodes_truenodeids: [0], nodes_trueleafs: [1], nodes_falsenodeids: [1], nodes_falseleafs: [1],
        leaf_targetids: [0, 0], leaf_weights: createTensor('weights', DataType.FLOAT, [2], new Float32Array([1, 2])),
      }, { domain: 'ai.onnx.ml', outputs: ['variable'] });
      b.output(y, 'float32', ['N', 1]);
      const out = await runOnce(backend, b.build(), new Float32Array([0, 1, NaN]), 3);
      expect(floats(out.variable)).toEqual([1, 2, 2]);
    });
  }
});

/**
 * A LightGBM tree that is a chain of `splits` splits on feature 0: split i sends x <= i to leaf i
 * (value i) and the rest on; the last split's right leaf has the value `splits`.
 */
function chain(splits: number, decisionType: number): string {
  const tree = {
    split_feature: new Array<number>(splits).fill(0),
    threshold: Array.from({ length: splits }, (_, i) => i),
    decision_type: new Array<number>(splits).fill(decisionType),
    left_child: Array.from({ length: splits }, (_, i) => ~i),
    right_child: Array.from({ length: splits }, (_, i) => (i + 1 < splits ? i + 1 : ~splits)),
    leaf_value: Array.from({ length: splits + 1 }, (_, i) => i),
  };
  return lightgbmText({ objective: 'regression', features: 1, trees: [tree] });
}

/*
 * onnxruntime builds every tree recursively when it loads a model: onnxruntime-node 1.30 dies with a
 * segmentation fault past about 5,500 levels in a worker thread (10,700 on the main thread), taking the
 * process with it, and onnxruntime-web refuses past about 1,850. The converter refuses trees deeper than
 * MAX_TREE_DEPTH in ONNX form and warns past WEB_TREE_DEPTH.
 */
describe('tree depth', () => {
  const MISSING_NAN = 8; // decision_type: missing type NaN, default right
  const ZERO_AS_MISSING = 4; // missing type Zero, default right: two ONNX levels per split

  it(`a tree of ${MAX_TREE_DEPTH} levels converts and runs in onnxruntime-node, with a warning about onnxruntime-web`, async () => {
    const { model, report } = convertLightGbm(chain(MAX_TREE_DEPTH, MISSING_NAN));
    expect(report.warnings.join('\n')).toMatch(new RegExp(`tree 0 is ${MAX_TREE_DEPTH} levels deep.*onnxruntime-web`));
    const out = await runOnce('node', model, new Float32Array([-1, 0.5, 1000.5, MAX_TREE_DEPTH + 7]), 4);
    expect(floats(out.variable)).toEqual([0, 1, 1001, MAX_TREE_DEPTH]);
  });

  it(`no warning at ${WEB_TREE_DEPTH} levels, which onnxruntime-web loads`, async () => {
    const { model, report } = convertLightGbm(chain(WEB_TREE_DEPTH, MISSING_NAN));
    expect(report.warnings).toEqual([]);
    expect(floats((await runOnce('web', model, new Float32Array([0.5, WEB_TREE_DEPTH + 1]), 2)).variable)).toEqual([1, WEB_TREE_DEPTH]);
  });

  it('a deeper tree is refused (FORGE_UNSUPPORTED_MODEL "tree depth") instead of written for onnxruntime to crash on', () => {
    const refusal = (text: string): unknown => {
      try {
        convertLightGbm(text);
      } catch (e) {
        if (isForgeError(e)) return { code: e.code, details: e.details, message: e.message };
        throw e;
      }
      return 'converted';
    };
    expect(refusal(chain(MAX_TREE_DEPTH + 1, MISSING_NAN))).toMatchObject({
      code: ForgeErrorCode.UNSUPPORTED_MODEL,
      details: { feature: 'tree depth', tree: 0, depth: MAX_TREE_DEPTH + 1, limit: MAX_TREE_DEPTH },
      message: expect.stringMatching(/max_depth/),
    });
    // A zero-as-missing split is two ONNX nodes deep (BRANCH_EQ 0, then the comparison).
    expect(refusal(chain(MAX_TREE_DEPTH / 2 + 1, ZERO_AS_MISSING))).not.toBe('converted');
    expect(refusal(chain(MAX_TREE_DEPTH / 2, ZERO_AS_MISSING))).toBe('converted');
  });
});
