/**
 * Test helpers the packages share (`@onnx-forge/core/testing`): reading the ONNX backend test data
 * (Debian's libonnx-testdata), turning its tensors into the arguments of onnxruntime's `Tensor`, temporary
 * folders, free ports, ForgeError rejections, and a small MLP in float32 / float16 forms.
 * Node only (they read files); they never import onnxruntime, which core must not depend on.
 */
export { forgeRejection } from './forge-rejection.js';
export { halfMlp } from './half-mlp.js';
export { freePort } from './free-port.js';
export { ONNX_TEST_DATA, findOnnxFiles, listTestDirs, readTestDataSets } from './onnx-test-data.js';
export type { TestDataSet } from './onnx-test-data.js';
export { declaredTensor, ortTypeName, ortValueClose, ortValueDiff, seededInput, tensorToOrtArgs } from './ort-values.js';
export type { OrtValueArgs, OrtValueLike } from './ort-values.js';
export { tempFolders } from './temp-folders.js';
