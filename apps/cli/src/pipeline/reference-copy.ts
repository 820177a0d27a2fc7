import { renameDuplicateNodes, type Model } from '@onnx-forge/core';

/**
 * A copy of the model as read, to check a conversion against. The PassManager renames nodes that
 * repeat a node name before the passes run (onnxruntime refuses "two nodes with same node name");
 * the copy is renamed the same way (the renaming is deterministic), so onnxruntime can run it as the
 * float32 reference instead of the accuracy check being skipped.
 */
export function referenceCopy(model: Model): Model {
  const copy = model.clone();
  renameDuplicateNodes(copy);
  return copy;
}
