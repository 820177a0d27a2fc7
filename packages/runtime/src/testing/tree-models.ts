import { DataType, ModelBuilder, attr, createTensor } from '@onnx-forge/core';

/**
 * A tree ensemble whose one tree is a chain of `levels` splits on feature 0 (split i: x <= i goes to a
 * leaf worth i, else on down; the last leaf is worth -1), so the answer says how far down a row went.
 * `form` 'ids' writes TreeEnsembleRegressor (ai.onnx.ml 3); 'roots' TreeEnsemble (ai.onnx.ml 5).
 */
export function deepTreeModel(levels: number, form: 'ids' | 'roots' = 'ids'): Uint8Array {
  const split = Array.from({ length: levels }, (_, i) => i);
  const b = new ModelBuilder({ opset: 21, opsets: { 'ai.onnx.ml': form === 'ids' ? 3 : 5 } });
  const x = b.input('input', 'float32', ['N', 1]);
  if (form === 'ids') {
    // Split i is node 2i, its leaf node 2i + 1, the last leaf node 2 * levels.
    const nodes = 2 * levels + 1;
    const ids = Array.from({ length: nodes }, (_, i) => i);
    const isSplit = (i: number) => i % 2 === 0 && i < 2 * levels;
    const leaves = ids.filter((i) => !isSplit(i));
    b.op('TreeEnsembleRegressor', [x], {
      n_targets: attr.int('n_targets', 1),
      nodes_treeids: attr.ints('nodes_treeids', ids.map(() => 0)),
      nodes_nodeids: attr.ints('nodes_nodeids', ids),
      nodes_featureids: attr.ints('nodes_featureids', ids.map(() => 0)),
      nodes_modes: attr.strings('nodes_modes', ids.map((i) => (isSplit(i) ? 'BRANCH_LEQ' : 'LEAF'))),
      nodes_values: attr.floats('nodes_values', ids.map((i) => (isSplit(i) ? i / 2 : 0))),
      nodes_truenodeids: attr.ints('nodes_truenodeids', ids.map((i) => (isSplit(i) ? i + 1 : 0))),
      nodes_falsenodeids: attr.ints('nodes_falsenodeids', ids.map((i) => (isSplit(i) ? i + 2 : 0))),
      target_treeids: attr.ints('target_treeids', leaves.map(() => 0)),
      target_nodeids: attr.ints('target_nodeids', leaves),
      target_ids: attr.ints('target_ids', leaves.map(() => 0)),
      target_weights: attr.floats('target_weights', leaves.map((i) => (i === 2 * levels ? -1 : (i - 1) / 2))),
    }, { domain: 'ai.onnx.ml', outputs: ['variable'] });
  } else {
    // Split i's true child is leaf i, its false child split i + 1 (the last one's: leaf `levels`).
    b.op('TreeEnsemble', [x], {
      n_targets: attr.int('n_targets', 1),
      tree_roots: attr.ints('tree_roots', [0]),
      nodes_featureids: attr.ints('nodes_featureids', split.map(() => 0)),
      nodes_modes: attr.tensor('nodes_modes', createTensor('nodes_modes', DataType.UINT8, [levels], new Uint8Array(levels))),
      nodes_splits: attr.tensor('nodes_splits', createTensor('nodes_splits', DataType.FLOAT, [levels], Float32Array.from(split))),
      nodes_truenodeids: attr.ints('nodes_truenodeids', split),
      nodes_trueleafs: attr.ints('nodes_trueleafs', split.map(() => 1)),
      nodes_falsenodeids: attr.ints('nodes_falsenodeids', split.map((i) => (i === levels - 1 ? levels : i + 1))),
      nodes_falseleafs: attr.ints('nodes_falseleafs', split.map((i) => (i === levels - 1 ? 1 : 0))),
      leaf_targetids: attr.ints('leaf_targetids', [...split.map(() => 0), 0]),
      leaf_weights: attr.tensor('leaf_weights', createTensor('leaf_weights', DataType.FLOAT, [levels + 1], Float32Array.from([...split, -1]))),
    }, { domain: 'ai.onnx.ml', outputs: ['variable'] });
  }
  b.output('variable', 'float32', ['N', 1]);
  return b.build().encode();
}
