import { DataType, ModelBuilder, createTensor } from '@onnx-forge/core';
import { describe, expect, it } from 'vitest';
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
