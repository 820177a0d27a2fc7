/**
 * Test helpers for packages that run models (`@onnx-forge/runtime/testing`): running a script on the
 * AVX2 code path of onnxruntime under valgrind. Node only.
 */
export { hasValgrind, runUnderValgrind } from './valgrind.js';
