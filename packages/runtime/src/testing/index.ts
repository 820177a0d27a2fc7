/**
 * Test helpers for packages that run models (`@onnx-forge/runtime/testing`): running a script on the
 * AVX2 code path of onnxruntime under valgrind (Node only). The manual clock is on the main entry
 * (`ManualClock`), since hybrid's published API re-exports it.
 */
export { hasValgrind, runUnderValgrind } from './valgrind.js';
