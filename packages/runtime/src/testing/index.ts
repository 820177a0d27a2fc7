/**
 * Test helpers for packages that run models (`@onnx-forge/runtime/testing`): a Clock that moves only
 * when told (for sessions' and pools' `clock` option), and running a script on the AVX2 code path of
 * onnxruntime under valgrind (Node only).
 */
export { FakeClock } from './fake-clock.js';
export { hasValgrind, runUnderValgrind } from './valgrind.js';
